# Sourced by the peer scripts (not run): `measure JOB TOOL COMMAND...` runs COMMAND
# once under GNU time, its output thrown away and its standard error kept in
# $stderr_log, and appends "JOB<tab>TOOL<tab>wall seconds<tab>peak KB" to $times.
# A failing command stops the script with its standard error.
measure() {
    local job=$1 tool=$2
    shift 2
    local t
    t=$(mktemp)
    if ! /usr/bin/time -o "$t" -f '%e %M' "$@" >/dev/null 2>"$stderr_log"; then
        echo "failed: $*" >&2
        cat "$stderr_log" "$t" >&2
        exit 1
    fi
    read -r wall kb <"$t"
    rm -f "$t"
    printf '%s\t%s\t%s\t%s\n' "$job" "$tool" "$wall" "$kb" >>"$times"
    echo "   $job | $tool: ${wall} s, $((kb / 1024)) MB" >&2
}
