#!/bin/sh
# daemon/board_embed.sh OUT PAGE: writes OUT, a C file holding the live
# board's page (daemon/board.html) as one string, so that fxbreakerd
# serves it with no file to install or lose, and the page's
# Content-Security-Policy, which names its one inline style and its one
# inline script by their SHA-256: the browser runs nothing else, and the
# hashes cannot drift from the page they were taken of.  Run by the
# Makefile; the output is not committed.
set -eu
out=$1
page=$2
csp=$(python3 - "$page" <<'PY'
import base64, hashlib, sys
page = open(sys.argv[1], "rb").read()
def digest(tag):
    start = page.index(b"<%s>" % tag) + len(tag) + 2
    end = page.index(b"</%s>" % tag, start)
    if page.find(b"<%s" % tag, end) >= 0:
        sys.exit("board_embed.sh: one <%s> only: the policy hashes one"
                 % tag.decode())
    return base64.b64encode(hashlib.sha256(page[start:end]).digest()).decode()
print("default-src 'none'; style-src 'sha256-%s'; script-src 'sha256-%s'; "
      "connect-src 'self'; img-src data:; base-uri 'none'; "
      "form-action 'none'; frame-ancestors 'none'"
      % (digest(b"style"), digest(b"script")))
PY
)
{
	echo '/* Generated from daemon/board.html by daemon/board_embed.sh. */'
	echo '#include <stddef.h>'
	echo ''
	echo 'extern const char board_html[], board_csp[];'
	echo 'extern const size_t board_html_len;'
	echo "const char board_csp[] = \"$csp\";"
	echo 'const char board_html[] ='
	sed 's/\\/\\\\/g; s/"/\\"/g; s/^/    "/; s/$/\\n"/' "$page"
	echo '    ;'
	echo 'const size_t board_html_len = sizeof(board_html) - 1;'
} >"$out.tmp"
mv "$out.tmp" "$out"
