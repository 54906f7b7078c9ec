#!/usr/bin/env bash
# The cost of the Spark stage (spark/sigrep_spark.py): Spark local mode on 2
# cores against `sigrep -j2` run directly, on directories of generated Windows
# logs of 256 MiB, 1 GiB and 4 GiB, with the SigmaHQ rules of level critical
# (a hunt: 2.5% of the lines match), --json output written to files.
#
#   benches/spark.sh                 # all sizes, 3 runs each
#   SIZES="1024" RUNS=5 benches/spark.sh
#
# Corpora go to $WORK (/tmp/sigrep-spark-bench), never into the repository:
# four 256 MiB files from ../shared/corpus/gen_corpus.py (seeds 1-4); the
# 256 MiB directory holds their first 64 MiB (cut at a line end), the 1 GiB
# one the four end to end in one file (which the job cuts into byte ranges),
# the 4 GiB one four copies of that file. Each run times the
# two commands one after the other (so both see the same load from others on
# the machine); the table gives medians, their ratio, and checks that both
# selected the same number of lines.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED=${SHARED:-../shared}
WORK=${WORK:-/tmp/sigrep-spark-bench}
RUNS=${RUNS:-3}
SIZES=${SIZES:-"256 1024 4096"}
TARGET=${CARGO_TARGET_DIR:-target}
SIGREP=$TARGET/release/sigrep
VENV=$TARGET/spark-venv
RULES=${RULES:-$SHARED/sigma/rules}
FLAGS=(--level critical)

cargo build --release --quiet
if ! "$VENV/bin/python" -c 'import pyspark' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pyspark==3.5.9
fi
export PYSPARK_PYTHON=$VENV/bin/python PYSPARK_DRIVER_PYTHON=$VENV/bin/python
mkdir -p "$WORK"

for i in 1 2 3 4; do
  if [ ! -s "$WORK/win$i.log.meta.json" ]; then
    python3 "$SHARED/corpus/gen_corpus.py" --kind windows --size-mib 256 --rate 1e-4 \
      --seed "$i" --out "$WORK/win$i.log" >/dev/null 2>&1
  fi
done

corpus() { # SIZE -> directory
  local dir=$WORK/d$1
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir.tmp"
    for i in 1 2 3 4; do
      case $1 in
        256) python3 -c 'import sys
data = open(sys.argv[1], "rb").read(64 << 20)
open(sys.argv[2], "wb").write(data[: data.rindex(b"\n") + 1])' "$WORK/win$i.log" "$dir.tmp/win$i.log" ;;
        1024) cat "$WORK/win$i.log" >>"$dir.tmp/win.log" ;;
        4096) cp "$(corpus 1024)/win.log" "$dir.tmp/win$i.log" ;;
      esac
    done
    mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

seconds() { # NAME COMMAND... -> wall seconds; output to $WORK/NAME.out and .err
  local name=$1 t0=$EPOCHREALTIME
  shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || [ $? -le 2 ]
  echo "$EPOCHREALTIME - $t0" | bc
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '| input | files | sigrep -j2 | Spark local[2] | Spark / sigrep | tasks | selected lines |\n'
printf '|---|--:|--:|--:|--:|--:|--:|\n'
for size in $SIZES; do
  dir=$(corpus "$size")
  cat "$dir"/* >/dev/null # page cache warm for both
  direct=() spark=()
  for _ in $(seq "$RUNS"); do
    direct+=("$(seconds direct "$SIGREP" -f "$RULES" "${FLAGS[@]}" --json -j2 -r "$dir")")
    spark+=("$(seconds spark "$VENV/bin/spark-submit" --master 'local[2]' spark/sigrep_spark.py \
      --sigrep "$SIGREP" --rules "$RULES" --out "$WORK/out" --format parquet "$dir" -- \
      "${FLAGS[@]}")")
  done
  want=$(grep -c '"type":"match"' "$WORK/direct.out")
  stats=$(grep '^sigrep stats:' "$WORK/spark.out")
  got=$(echo "$stats" | sed 's/^sigrep stats: \([0-9]*\) selected.*/\1/')
  tasks=$(echo "$stats" | sed 's/.* in \([0-9]*\) tasks.*/\1/')
  [ "$want" = "$got" ] || { echo "selected lines differ: sigrep $want, Spark $got" >&2; exit 1; }
  d=$(printf '%s\n' "${direct[@]}" | median)
  s=$(printf '%s\n' "${spark[@]}" | median)
  printf '| %s MiB | %s | %.1f s | %.1f s | %.2fx | %s | %s |\n' "$size" "$(ls "$dir" | wc -l)" \
    "$d" "$s" "$(echo "$s / $d" | bc -l)" "$tasks" "$want"
  echo "  runs: sigrep ${direct[*]}; Spark ${spark[*]}" >&2
done
