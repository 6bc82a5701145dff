#!/usr/bin/env bash
# cmake/TpbenchGitCommit.cmake (run at every build) on throw-away repositories: the commit of a
# clean tree, "-dirty" for a changed tracked file or an untracked source, $TPBENCH_GIT_COMMIT for
# a copy without .git (also when that copy lies inside another repository), "unknown" without
# either, characters a C++ literal cannot hold dropped, and the file left untouched when nothing
# changed. Last, this build's own binary must name the source tree's HEAD.
# Usage: git_commit_script.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
command -v git >/dev/null && command -v cmake >/dev/null || { echo "SKIP: needs git and cmake"; exit 77; }
SCRIPT="$SRC/cmake/TpbenchGitCommit.cmake"

# recorded SRC_DIR [ENV...]: what the script writes for SRC_DIR, as the literal's contents.
recorded() {
  local src="$1"
  shift
  env "$@" cmake -DOUT="$TMP/out.cpp" -DSRC_DIR="$src" -P "$SCRIPT" 2>"$TMP/warn.txt" >/dev/null
  sed -n 's/.*kGitCommit = "\(.*\)";/\1/p' "$TMP/out.cpp"
}
check() {  # check WHAT GOT WANT
  if [[ "$2" == "$3" ]]; then echo "ok: $1 -> $2"; else echo "FAIL: $1 -> '$2', want '$3'"; fail=1; fi
}

R="$TMP/repo"
mkdir -p "$R/harness"
git -C "$R" init -q
git -C "$R" config user.email t@t && git -C "$R" config user.name t
echo 'int a;' >"$R/harness/a.cpp"
echo 'project(x)' >"$R/CMakeLists.txt"
git -C "$R" add . && git -C "$R" commit -qm one
HEAD=$(git -C "$R" rev-parse --short=12 HEAD)

check "clean tree" "$(recorded "$R" -u TPBENCH_GIT_COMMIT)" "$HEAD"
touch -d '2000-01-01' "$TMP/out.cpp"
recorded "$R" >/dev/null
check "unchanged commit leaves the file alone" "$(find "$TMP/out.cpp" -newermt '2001-01-01' | wc -l)" "0"
echo 'int b;' >>"$R/harness/a.cpp"
check "changed tracked source" "$(recorded "$R")" "$HEAD-dirty"
git -C "$R" add harness/a.cpp
check "staged change" "$(recorded "$R")" "$HEAD-dirty"
git -C "$R" reset -q --hard
echo 'int c;' >"$R/harness/new.cpp"
check "untracked source (globbed into the build)" "$(recorded "$R")" "$HEAD-dirty"
rm "$R/harness/new.cpp"
echo notes >"$R/notes.txt"
check "untracked file outside the compiled folders" "$(recorded "$R")" "$HEAD"
check "a variable does not override a checkout" "$(recorded "$R" TPBENCH_GIT_COMMIT=abc123)" "$HEAD"

mkdir -p "$R/copy" && cp -r "$R/harness" "$R/CMakeLists.txt" "$R/copy/"
check "copy without .git inside another repository" "$(recorded "$R/copy" TPBENCH_GIT_COMMIT=abc123)" "abc123"
C="$TMP/plain" && mkdir -p "$C" && cp -r "$R/harness" "$C/"
check "copy without .git, no variable" "$(recorded "$C" -u TPBENCH_GIT_COMMIT)" "unknown"
check "  ...and it warns" "$(grep -c 'unknown' "$TMP/warn.txt")" "1"
check "quotes and newlines dropped" "$(recorded "$C" "TPBENCH_GIT_COMMIT=ab\"c
d\\e")" "abcde"

# This build's binary against its own source tree (skipped for a copy without .git): the commit
# it names must exist and hold the same compiled sources as HEAD (a commit of prose since the
# build is fine; a binary older than the code is not: rebuild).
if git -C "$SRC" rev-parse --show-toplevel >/dev/null 2>&1; then
  mine=$("$BIN" --version | sed -n 's/.*(\(.*\)).*/\1/p')
  same=no
  git -C "$SRC" diff --quiet "${mine%-dirty}" HEAD -- CMakeLists.txt cmake harness collectives kernels bench tests \
    2>/dev/null && same=yes
  check "this binary's commit ($mine) has HEAD's sources" "$same" yes
fi
finish
