#!/bin/bash
# cpu-watch.sh PID FILE: every 5 s, unix time and the process's CPU seconds (user+system, all threads)
pid=$1; f=$2; tck=$(getconf CLK_TCK)
while kill -0 $pid 2>/dev/null; do
  s=$(awk -v t=$tck '{print ($14+$15)/t}' /proc/$pid/stat 2>/dev/null) && echo "$(date +%s.%N) $s" >> $f
  sleep 5
done
