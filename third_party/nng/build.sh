#!/bin/sh
# third_party/nng/build.sh OUT [TASKQ]: Debian 12's nng 1.5.2-2 source
# package with our patches (patches/series), built the way debian/rules
# builds its static library, installed into OUT/prefix.  TASKQ is nng's
# task thread count (NNG_NUM_TASKQ_THREADS), or "default" for nng's own
# (twice the CPUs).  See README.md here for what and why.
#
# Idempotent: OUT/prefix/.stamp records what was built (the sources'
# hashes, our patches, the options); a second run with the same inputs
# does nothing.  The source package is fetched once into build/nng-src/
# from deb.debian.org (a sources file of its own: the machine's apt
# configuration is not touched) and checked against the hashes below.
set -eu

out=${1:?usage: build.sh OUT [TASKQ]}
mkdir -p "$out" && out=$(cd "$out" && pwd)
taskq=${2:-default}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
src=$root/build/nng-src

# The exact source package, pinned: apt checks the .dsc against the
# signed Sources index, dpkg-source the tarballs against the .dsc, and
# these hashes make sure it is the 1.5.2-2 this README describes.
ver=1.5.2-2
dsc=nng_$ver.dsc
sums="\
87a37a521f7726937c58e670bd6b78bad14b9373f7fe600fa7ef7f11aeb76bfe  nng_1.5.2-2.dsc
f8b25ab86738864b1f2e3128e8badab581510fa8085ff5ca9bb980d317334c46  nng_1.5.2.orig.tar.gz
ecf0bcd3b5645b95aa1f1f58519547bcfaaab81a863f88a59178d72fdfdffd72  nng_1.5.2-2.debian.tar.xz"

case $taskq in
default) taskq_opt= ;;
*[!0-9]* | '') echo "build.sh: TASKQ must be a number or default" >&2; exit 100 ;;
*) taskq_opt=-DNNG_NUM_TASKQ_THREADS=$taskq ;;
esac

# Debian's compiler flags for a package build (hardening included), plus
# position-independent code so that libnng.a links into libfxbclient.so.
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS) -fPIC"
ldflags=$(dpkg-buildflags --get LDFLAGS)
gen=
command -v ninja >/dev/null 2>&1 && gen=-GNinja

fetch() {
	mkdir -p "$src/lists/partial"
	list=$src/debian-src.sources
	cat >"$list" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	set -- -o "Dir::Etc::sourcelist=$list" \
		-o Dir::Etc::sourceparts=/nonexistent \
		-o "Dir::State::Lists=$src/lists" \
		-o APT::Get::List-Cleanup=0 \
		-o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
	apt-get -qq "$@" update
	# As root apt warns that its _apt user cannot write here: harmless.
	(cd "$src" && apt-get -qq "$@" --download-only source "nng=$ver") 2>&1 |
		grep -v -e 'unsandboxed' >&2 || true
}

mkdir -p "$src"
if ! (cd "$src" && echo "$sums" | sha256sum --quiet -c - >/dev/null 2>&1); then
	echo "nng: fetching Debian's source package nng $ver"
	fetch
	(cd "$src" && echo "$sums" | sha256sum --quiet -c -) || {
		echo "build.sh: the fetched nng source does not match its hashes" >&2
		exit 111
	}
fi

# What this build is made of; the stamp holds it.
patchsum=$(cd "$here/patches" && cat series $(cat series) | sha256sum)
want=$(printf '%s\n' "$sums" "$patchsum" "taskq=$taskq" "$cflags" \
	"$ldflags" "$(sha256sum <"$0")" | sha256sum | cut -c1-64)
stamp=$out/prefix/.stamp
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	touch "$stamp" # newer than this script for make
	exit 0
fi

echo "nng: building $ver + patches/series (task threads: $taskq) in $out"
rm -rf "$out"
mkdir -p "$out"
# dpkg-source checks the tarballs against the .dsc and applies Debian's
# own patches (debian/patches/series) as the package build does.
(cd "$out" && dpkg-source -q -x "$src/$dsc" tree) 2>&1 |
	grep -v -e 'signature' -e '^gpgv:' >&2 || true
[ -f "$out/tree/CMakeLists.txt" ] || exit 111
for p in $(cat "$here/patches/series"); do
	patch -s -d "$out/tree" -p1 --no-backup-if-mismatch <"$here/patches/$p"
done
# debian/rules' options (TLS through mbedTLS; the static build), our
# task thread count, and neither nng's tests nor its tools (nngcat stays
# Debian's nng-utils: a client, untouched by the fix).
cmake -S "$out/tree" -B "$out/cmake" $gen -Wno-dev \
	-DCMAKE_BUILD_TYPE=None \
	-DCMAKE_INSTALL_PREFIX="$out/prefix" -DCMAKE_INSTALL_LIBDIR=lib \
	-DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
	-DCMAKE_POSITION_INDEPENDENT_CODE=ON \
	-DNNG_ENABLE_TLS=ON -DBUILD_SHARED_LIBS=OFF \
	-DNNG_TESTS=OFF -DNNG_TOOLS=OFF -DNNG_ENABLE_NNGCAT=OFF \
	$taskq_opt >"$out/cmake.log" 2>&1 || {
	cat "$out/cmake.log" >&2
	exit 111
}
cmake --build "$out/cmake" -j 2 >"$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	exit 111
}
cmake --install "$out/cmake" >/dev/null
echo "$want" >"$stamp"
echo "nng: installed into $out/prefix"
