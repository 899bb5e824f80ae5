#!/bin/bash
# wait_then.sh PID NAME "args"...: when process PID ends, run q.sh NAME "args"...
pid=$1; shift
while kill -0 $pid 2>/dev/null; do sleep 20; done
exec /work/runlogs/q.sh "$@"
