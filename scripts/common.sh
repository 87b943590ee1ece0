# Shared by setup.sh, test.sh and demo.sh: packages, build, and a throwaway
# PostgreSQL server run by a non-root user (PostgreSQL refuses to run as root).
# Source it; it defines functions and a few variables, and runs nothing.

VQPQ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin	# install_packages sets it for PG_MAJOR

log() { printf '\n== %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, else through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The non-root user that owns scratch servers: ourselves, or "postgres" when
# we are root (the postgresql packages create that user).
scratch_user() {
	if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

as_scratch_user() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env PATH="$PG_BIN:$PATH" "$@"
	else
		env PATH="$PG_BIN:$PATH" "$@"
	fi
}

# Debian packages (test tools and the demo data set), then the server of
# PG_MAJOR with its headers and pgTAP (scripts/pg_versions.sh: 15 from Debian
# 12's packages, others built or unpacked into a cache); sets PG_BIN.
install_packages() {
	local pkgs=(
		build-essential
		libtap-parser-sourcehandler-pgtap-perl
		libipc-run-perl
		python3 dataset-fashion-mnist
	)
	local missing=()
	for p in "${pkgs[@]}"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = 'install ok installed' ] || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "packages: all present"
	else
		log "installing packages: ${missing[*]}"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	ensure_postgres "$PG_MAJOR"
	ensure_pgtap "$PG_MAJOR"
}

# Build with the given extra compiler flags (COPT) and install into the server.
build_and_install() {
	local copt=${1:-}
	log "building vqpq (COPT=${copt:-none})"
	make -C "$VQPQ_ROOT" -s clean PG_CONFIG="$PG_BIN/pg_config" >/dev/null
	make -C "$VQPQ_ROOT" -s COPT="$copt" PG_CONFIG="$PG_BIN/pg_config"
	log "installing vqpq"
	as_root make -C "$VQPQ_ROOT" -s install PG_CONFIG="$PG_BIN/pg_config"
}

# Start a throwaway server: sets SCRATCH_DIR, PGHOST, PGPORT, PGUSER, PGDATABASE.
# Stop it with stop_scratch_server (start_scratch_server installs an EXIT trap).
start_scratch_server() {
	SCRATCH_DIR=$(mktemp -d /tmp/vqpq-pg.XXXXXX)
	chmod 755 "$SCRATCH_DIR"
	[ "$(id -u)" -eq 0 ] && chown "$(scratch_user)" "$SCRATCH_DIR"
	local port
	for port in $(seq 54321 54421); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
	done
	log "starting a scratch server in $SCRATCH_DIR on port $port"
	as_scratch_user initdb -A trust -U "$(scratch_user)" -D "$SCRATCH_DIR/data" >/dev/null
	as_scratch_user pg_ctl -D "$SCRATCH_DIR/data" -l "$SCRATCH_DIR/server.log" -w \
		-o "-p $port -k $SCRATCH_DIR -c listen_addresses='' -c fsync=off ${SCRATCH_SERVER_OPTS:-}" start >/dev/null \
		|| { cat "$SCRATCH_DIR/server.log"; die "server did not start"; }
	export PGHOST=$SCRATCH_DIR PGPORT=$port PGUSER=$(scratch_user) PGDATABASE=postgres
	trap stop_scratch_server EXIT
}

stop_scratch_server() {
	[ -n "${SCRATCH_DIR:-}" ] && [ -d "$SCRATCH_DIR/data" ] || return 0
	as_scratch_user pg_ctl -D "$SCRATCH_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	if grep -q -E 'PANIC|server process .* was terminated' "$SCRATCH_DIR/server.log"; then
		echo "scratch server log shows a crash:" >&2
		grep -E 'PANIC|terminated' "$SCRATCH_DIR/server.log" >&2
	fi
	rm -rf "$SCRATCH_DIR"
	SCRATCH_DIR=
}

# Other PostgreSQL versions, pgTAP and pgvector: ensure_postgres MAJOR, ...
. "$VQPQ_ROOT/scripts/pg_versions.sh"
