# shellcheck shell=bash
# Helpers shared by the scripts in this directory; sourced, never run.
#
# The Debian mirror is never written into this repository: it is read from
# the machine's own apt configuration, so the scripts use whatever mirror
# (or proxy) the machine is already set up for.

# Print the URI of every apt source whose suites include $1, deb822 files
# first, then one-line sources, in file order.
ldslim_apt_uris() {
    local suite=$1 f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        # One deb822 paragraph per source; print its first URI when its
        # Types has "deb" and its Suites has $suite.
        awk -v suite="$suite" '
            function flush() {
                if (uris != "" && has_suite && is_deb) { split(uris, u, " "); print u[1]; found = 1; exit }
                uris = ""; has_suite = 0; is_deb = 0
            }
            BEGIN { is_deb = 0 }
            /^[[:space:]]*$/ { flush(); next }
            /^[[:space:]]*#/ { next }
            tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") is_deb = 1 }
            tolower($1) == "uris:" { uris = ""; for (i = 2; i <= NF; i++) uris = uris " " $i }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) has_suite = 1 }
            END { if (!found) flush() }
        ' "$f" | head -n1
    done
    # One-line sources: deb [options] URL SUITE COMPONENTS...
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        sed -E -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" \
            | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }'
    done
}

# The first usable (http, https or file) URI for suite $1, or nothing.
ldslim_mirror() {
    ldslim_apt_uris "$1" | grep -E '^(https?|file)://' | head -n1 || true
}
