#!/bin/sh
# Annotated copies (加注件): the hub embeds a CJK font (Debian fonts-noto-cjk), and the tests check its PDF with
# independent tools: poppler's pdfsig (the signature) and pdftotext (the annotation), and NSS's certutil (a
# certificate database trusting the hub CA). Install Debian's.
set -e
missing=""
command -v pdfsig >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 || missing="$missing poppler-utils"
command -v certutil >/dev/null 2>&1 || missing="$missing libnss3-tools"
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing="$missing fonts-noto-cjk"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's$missing for the annotated copies"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "missing$missing and cannot install them here (need root and apt-get); the annotated-copy tests will fail" >&2
  exit 1
fi
