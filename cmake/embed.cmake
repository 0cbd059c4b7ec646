# Turns a text file into a C translation unit: const char NAME[] and size_t NAME_len.
# Usage: cmake -DIN=file -DOUT=file.c -P embed.cmake
# A missing or empty IN is an error: nothing is written, and an OUT left from
# an earlier run is removed, so a build never links a stale or empty page.
if(NOT DEFINED IN OR NOT DEFINED OUT)
  message(FATAL_ERROR "embed.cmake: usage: cmake -DIN=file -DOUT=file.c -P embed.cmake")
endif()
if(NOT EXISTS "${IN}" OR IS_DIRECTORY "${IN}")
  file(REMOVE "${OUT}")
  message(FATAL_ERROR "embed.cmake: cannot embed ${IN}: no such file")
endif()
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hexlen)
if(hexlen EQUAL 0)
  file(REMOVE "${OUT}")
  message(FATAL_ERROR "embed.cmake: cannot embed ${IN}: the file is empty")
endif()
math(EXPR n "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE "${OUT}" "/* generated from ${IN}; do not edit */\n#include <stddef.h>\nconst char srv_webchat_html[] = {${body} 0x00};\nconst size_t srv_webchat_html_len = ${n};\n")
