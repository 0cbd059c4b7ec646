# Turns a text file into a C translation unit: const char NAME[] and size_t NAME_len.
# Usage: cmake -DIN=file -DOUT=file.c -P embed.cmake
if(EXISTS ${IN})
  file(READ ${IN} hex HEX)
else()
  set(hex "")
endif()
string(LENGTH "${hex}" hexlen)
math(EXPR n "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\n#include <stddef.h>\nconst char srv_webchat_html[] = {${body} 0x00};\nconst size_t srv_webchat_html_len = ${n};\n")
