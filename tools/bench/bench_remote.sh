#!/usr/bin/env bash
# Sharing an experiment (issue #8): `live exp push` / `live exp pull` of one
# experiment of N checkpoints with an S-byte model.pt, through a bare git
# remote (a local path) and a cache remote folder, against the same transfer
# done by hand: `git push` of the experiment refs + `rsync -a` (or `cp -r` when
# rsync is missing) of .dvc/cache to the cache folder, and `git fetch` + the
# copy back. A measurement, not a test.
#
# Printed: wall time of each transfer, bytes that landed in the git remote (or
# the clone's .git) and in the cache remote (or the clone's cache), objects
# copied; the copy of the cache once more with an md5sum of every copy (the
# check live makes when it cannot skip it); a second push with nothing new;
# a push to another cache remote with the stat cache emptied (every object
# hashed: what a push costs when the stat cache vouches for nothing). The
# last lines are key=value pairs for tools/bench/run_all.sh.
#
# usage: tools/bench/bench_remote.sh [build-dir] [checkpoints] [model-bytes]
#        (defaults: build, 100, 10485760)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=$(realpath "${1:-build}")
n=${2:-100}
size=${3:-10485760}
live=$build/tools/cli/live
trainer=$build/tests/tiny_trainer
[ -x "$live" ] && [ -x "$trainer" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
work=$(mktemp -d /var/tmp/live_bench_remote.XXXXXX)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME=$work/home LC_ALL=C
mkdir -p "$HOME"
copier="cp -r"
command -v rsync > /dev/null && copier="rsync -a"

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }
# bytes DIR: the bytes of the files below DIR (0 if it does not exist)
bytes() { [ -d "$1" ] && find "$1" -type f -printf '%s\n' | awk '{ b += $1 } END { printf "%d", b }' || echo 0; }
files() { [ -d "$1" ] && find "$1" -type f | wc -l || echo 0; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# The repository: the tiny trainer's stage, `storage` as the default cache remote, one baseline.
mkdir -p "$work/a" && cd "$work/a"
git -c init.defaultBranch=main init -q && git config user.name bench && git config user.email bench@example.com
"$live" init -q
cp "$trainer" train
printf 'epochs: %d\nlr: 0.001\nmodel_bytes: %d\nstep_ms: 0\n' "$n" "$size" > params.yaml
"$live" stage add -n train -d train -c model.pt --plots-no-cache predictions.json -p epochs,lr,model_bytes \
	--live dvclive ./train > /dev/null
"$live" remote add -d storage ../storage > /dev/null
git add -A && git commit -qm baseline
git clone -q --bare . ../remote.git && git remote add origin ../remote.git
git clone -q --bare . ../remote_alt.git && git remote add alt ../remote_alt.git
git clone -q ../remote.git ../b
git clone -q ../remote_alt.git ../c

t0=$(now_us)
"$live" exp run > /dev/null 2>&1
t1=$(now_us)
exp_ref=$(git for-each-ref --format='%(refname)' refs/exps | grep -v '^refs/exps/exec/' | head -1)
ckpts=$(git rev-list --count "HEAD..$exp_ref")
echo "live exp push/pull benchmark: $ckpts checkpoints, $(mb "$size") model.pt, $(df -T "$work" | awk 'NR==2{print $2}') at $work"
echo "(the run itself: $(secs "$t0" "$t1") s; cache $(mb "$(bytes .dvc/cache)") in $(files .dvc/cache) objects; alternative copier: $copier)"
echo
printf '%-40s %9s %14s %14s %9s\n' "transfer" "time" "git bytes" "cache bytes" "objects"
row() { printf '%-40s %7s s %14s %14s %9s\n' "$@"; }

# ---- push: live
g0=$(bytes ../remote.git/objects)
t0=$(now_us)
"$live" exp push origin > "$work/push.out"
t1=$(now_us)
push_live=$(secs "$t0" "$t1")
push_live_git=$(($(bytes ../remote.git/objects) - g0))
push_live_cache=$(bytes ../storage)
push_live_objs=$(files ../storage)
row "live exp push origin" "$push_live" "$push_live_git" "$push_live_cache" "$push_live_objs"

# ---- push: git push of the experiment refs + a copy of the cache
refs=$(git for-each-ref --format='%(refname)' 'refs/exps/' | grep -v '^refs/exps/exec/' | sed 's/.*/&:&/')
g0=$(bytes ../remote_alt.git/objects)
t0=$(now_us)
# shellcheck disable=SC2086 # one refspec per word
git push -q alt $refs
mkdir -p ../storage_alt && $copier .dvc/cache/. ../storage_alt/
t1=$(now_us)
push_alt=$(secs "$t0" "$t1")
row "git push + $copier" "$push_alt" "$(($(bytes ../remote_alt.git/objects) - g0))" "$(bytes ../storage_alt)" \
	"$(files ../storage_alt)"

# ---- the same, with the copies checked as live checks them (md5 of each, on every CPU)
rm -rf ../storage_alt2
t0=$(now_us)
mkdir -p ../storage_alt2 && $copier .dvc/cache/. ../storage_alt2/
(cd ../storage_alt2 && find . -type f -print0 | xargs -0 -r -P "$(nproc)" -n 16 md5sum > /dev/null)
t1=$(now_us)
push_alt_md5=$(secs "$t0" "$t1")
row "(cache only) $copier + md5sum of the copies" "$push_alt_md5" "-" "$(bytes ../storage_alt2)" "$(files ../storage_alt2)"
rm -rf ../storage_alt2

# ---- a second push: nothing new
t0=$(now_us)
"$live" exp push origin > /dev/null
t1=$(now_us)
push_again=$(secs "$t0" "$t1")
row "live exp push origin, again (up to date)" "$push_again" 0 0 0

# ---- a push that hashes every object: no stat cache, another cache remote
"$live" remote add storage2 ../storage2 > /dev/null
mv .dvc/tmp/live-md5s "$work/live-md5s.saved" 2> /dev/null || true
t0=$(now_us)
"$live" exp push -r storage2 origin > /dev/null
t1=$(now_us)
push_hashed=$(secs "$t0" "$t1")
mv "$work/live-md5s.saved" .dvc/tmp/live-md5s 2> /dev/null || true
row "live exp push -r storage2 (no stat cache)" "$push_hashed" 0 "$(bytes ../storage2)" "$(files ../storage2)"
rm -rf ../storage2

# ---- pull: live, into clone b
cd ../b
git config user.name bench && git config user.email bench@example.com
g0=$(bytes .git/objects)
t0=$(now_us)
"$live" exp pull origin > "$work/pull.out"
t1=$(now_us)
pull_live=$(secs "$t0" "$t1")
row "live exp pull origin" "$pull_live" "$(($(bytes .git/objects) - g0))" "$(bytes .dvc/cache)" "$(files .dvc/cache)"

# ---- pull: git fetch of the experiment refs + a copy of the cache remote
cd ../c
g0=$(bytes .git/objects)
t0=$(now_us)
git fetch -q origin 'refs/exps/*:refs/exps/*'
mkdir -p .dvc/cache && $copier ../storage_alt/. .dvc/cache/
t1=$(now_us)
pull_alt=$(secs "$t0" "$t1")
row "git fetch + $copier" "$pull_alt" "$(($(bytes .git/objects) - g0))" "$(bytes .dvc/cache)" "$(files .dvc/cache)"

# The pulled experiment is the pushed one, and applies.
cd ../b
"$live" exp apply "${exp_ref##*/}" > /dev/null
cmp -s model.pt ../a/model.pt || { echo "bench_remote: the pulled model.pt differs" >&2; exit 1; }

echo
echo "live verifies every object it copies (md5 of the bytes written, before they get their name), except"
echo "pushed objects that the stat cache vouches for (live hashed them when it wrote them and they are unchanged);"
echo "the alternative verifies nothing."
echo "push_ratio=$(awk -v a="$push_live" -v b="$push_alt" 'BEGIN { printf "%.2f", a / b }')"
echo "pull_ratio=$(awk -v a="$pull_live" -v b="$pull_alt" 'BEGIN { printf "%.2f", a / b }')"
echo "checkpoints=$ckpts"
echo "model_bytes=$size"
echo "push_live_s=$push_live"
echo "push_alt_s=$push_alt"
echo "push_alt_md5_s=$push_alt_md5"
echo "push_again_s=$push_again"
echo "push_hashed_s=$push_hashed"
echo "pull_live_s=$pull_live"
echo "pull_alt_s=$pull_alt"
echo "push_cache_bytes=$push_live_cache"
echo "push_git_bytes=$push_live_git"
echo "copier=$copier"
