#!/bin/sh
# daemon/board_embed.sh OUT PAGE: writes OUT, a C file holding the live
# board's page (daemon/board.html) as one string, so that fxbreakerd
# serves it with no file to install or lose.  Run by the Makefile; the
# output is not committed.  board.c hashes the page's inline style and
# script from this very string for its Content-Security-Policy.
set -eu
out=$1
page=$2
{
	echo '/* Generated from daemon/board.html by daemon/board_embed.sh. */'
	echo '#include <stddef.h>'
	echo ''
	echo 'extern const char board_html[];'
	echo 'extern const size_t board_html_len;'
	echo 'const char board_html[] ='
	sed 's/\\/\\\\/g; s/"/\\"/g; s/^/    "/; s/$/\\n"/' "$page"
	echo '    ;'
	echo 'const size_t board_html_len = sizeof(board_html) - 1;'
} >"$out.tmp"
mv "$out.tmp" "$out"
