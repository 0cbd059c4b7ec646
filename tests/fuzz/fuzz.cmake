# libFuzzer targets (TAU_FUZZ=ON, clang): tests/fuzz/fuzz_<name>.c, one
# executable each, all built by `cmake --build <dir> --target fuzz`.
# Seeds: tests/fuzz/corpus/<name>/.  Run: tests/build/build_fuzz.sh (short,
# in the suite) or bench/fuzz.sh (long).  See tests/fuzz/README.md.
file(GLOB TAU_FUZZ_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
add_custom_target(fuzz)
foreach(src ${TAU_FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} EXCLUDE_FROM_ALL ${src})
  # tautui pulls in every layer (cli, server, core); a target uses what it calls
  target_link_libraries(${name} PRIVATE tautui)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzz ${name})
endforeach()
