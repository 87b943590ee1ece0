# What the photo demo (scripts/photo_demo.sh) and its test need beyond the
# rest: Node.js, the npm packages of demo/photos, and the Debian packages the
# photographs come from.  Sourced after common.sh; defines functions, runs
# nothing.
#
#   ensure_photo_demo SET   all of it for SET of scripts/photo_sets.py (full, ci)
#   ensure_node             Node.js 20.9 or later is there, or a clear error
#                           (have_node: the same as a test, PHOTO_NODE_PROBLEM says why not)
#   ensure_photo_npm        demo/photos' packages, as package-lock.json pins
#                           them, in $VQPQ_PHOTO_CACHE/npm/node_modules
#   ensure_photo_packages SET
#
# Everything lands in $VQPQ_PHOTO_CACHE ($VQPQ_CACHE/photo-demo): the npm
# packages (reinstalled when package-lock.json changes), the packages of
# later Debian suites unpacked under debs/ (downloaded by pg_versions.sh's
# private apt, which the system's apt never sees), and, from the demo, the
# edited copies and the embeddings under work/.  Nothing is downloaded after
# this: the demo and the tests run offline.

# exported: photo_search.py, photo_sets.py and demo/photos/modules.js look there
export VQPQ_PHOTO_CACHE=${VQPQ_PHOTO_CACHE:-$VQPQ_CACHE/photo-demo}
export VQPQ_PHOTO_NODE_MODULES=${VQPQ_PHOTO_NODE_MODULES:-$VQPQ_PHOTO_CACHE/npm/node_modules}
PHOTO_NODE_MIN=20.9	# sharp 0.35's engines.node

# have_node: Node.js new enough, with npm; else false, with the reason in
# PHOTO_NODE_PROBLEM
have_node() {
	local v
	PHOTO_NODE_PROBLEM=
	if ! v=$(node --version 2>/dev/null); then
		PHOTO_NODE_PROBLEM="there is no node: the photo demo needs Node.js $PHOTO_NODE_MIN or later with npm (Debian 12's nodejs package is 18, too old for sharp 0.35: install Node.js 20 or 22)"
	elif v=${v#v}; [ "$(printf '%s\n%s\n' "$PHOTO_NODE_MIN" "$v" | sort -V | head -n 1)" != "$PHOTO_NODE_MIN" ]; then
		PHOTO_NODE_PROBLEM="the photo demo needs Node.js $PHOTO_NODE_MIN or later (sharp 0.35), and this is $v"
	elif ! command -v npm >/dev/null; then
		PHOTO_NODE_PROBLEM="Node.js $v is here but npm is not: install npm"
	fi
	[ -z "$PHOTO_NODE_PROBLEM" ]
}

ensure_node() {
	have_node || die "$PHOTO_NODE_PROBLEM"
}

ensure_photo_npm() {
	local dir=$VQPQ_PHOTO_CACHE/npm src=$VQPQ_ROOT/demo/photos start=$SECONDS
	ensure_node
	if cmp -s "$src/package-lock.json" "$dir/package-lock.json" && [ -f "$dir/node_modules/.vqpq-installed" ]; then
		log "npm packages of demo/photos: present in $dir"
		return 0
	fi
	log "npm packages of demo/photos into $dir (npm ci, versions pinned by package-lock.json)"
	mkdir -p "$dir" || die "cannot create $dir (set VQPQ_CACHE to a writable directory)"
	rm -rf "$dir/node_modules"
	cp "$src/package.json" "$src/package-lock.json" "$dir/"
	# no install scripts: none of these packages needs one (sharp's binaries
	# come as npm packages of their own), and nothing downloads behind npm's back
	(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) \
		|| die "npm ci in $dir failed"
	touch "$dir/node_modules/.vqpq-installed"
	chmod -R a+rX "$VQPQ_PHOTO_CACHE"
	log "npm packages installed in $((SECONDS - start)) s ($(du -sm "$dir/node_modules" | cut -f1) MB)"
}

# The photographs' packages: Debian 12's with apt, later suites' downloaded
# and unpacked into $VQPQ_PHOTO_CACHE/debs/PACKAGE.
ensure_photo_packages() {
	local set=$1 suite pkg ver have debs=$VQPQ_PHOTO_CACHE/debs tmp list apt_pkgs=()
	list=$(/usr/bin/python3 "$VQPQ_ROOT/scripts/photo_sets.py" packages "$set") || die "photo_sets.py packages $set failed"
	while read -r suite pkg; do
		if [ "$suite" = bookworm ]; then
			apt_pkgs+=("$pkg")
			continue
		fi
		[ "$suite" = "$PGV_TRIXIE_SUITE" ] || die "photo_sets.py: no way to get $pkg from $suite"
		pgv_cache_init
		pgv_tapt_setup
		ver=$(pgv_tapt_candidate "$pkg")
		[ -n "$ver" ] || die "$pkg: no such package in $suite"
		have=$(cat "$debs/$pkg/.vqpq-version" 2>/dev/null || true)
		[ "$have" = "$ver" ] && continue
		log "downloading $pkg $ver ($suite) into $debs/$pkg"
		mkdir -p "$debs"
		tmp=$(mktemp -d "$debs/.dl.XXXXXX")
		chmod 777 "$tmp"	# apt downloads as _apt when it can write there
		(cd "$tmp" && pgv_tapt apt-get download -qq "$pkg=$ver" >"$tmp/apt.log" 2>&1) \
			|| { cat "$tmp/apt.log" >&2; rm -rf "$tmp"; die "downloading $pkg from $suite failed"; }
		rm -rf "$debs/$pkg"
		dpkg-deb -x "$tmp"/*.deb "$debs/$pkg" || die "unpacking $pkg failed"
		rm -rf "$tmp"
		echo "$ver" >"$debs/$pkg/.vqpq-version"
		chmod -R a+rX "$debs/$pkg"
	done <<<"$list"
	[ ${#apt_pkgs[@]} -gt 0 ] && pgv_apt_install "${apt_pkgs[@]}"
	return 0
}

ensure_photo_demo() {
	local set=${1:-full}
	ensure_photo_npm
	ensure_photo_packages "$set"
}
