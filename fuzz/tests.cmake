# The fuzz targets as ctest tests (included from tests/CMakeLists.txt). fuzz_build builds them:
# a separate clang build (libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer) in
# <build>/fuzz, through scripts/fuzz.sh. Then each target runs for a bounded time from a
# temporary copy of its seeds in fuzz/corpus/<target>; a crash, leak, hang, sanitizer report or
# violated property fails the test, and the input that caused it is kept in <build>/fuzz/artifacts.
option(VERIBIND_FUZZ_TESTS "Build the fuzz targets with clang and run each briefly under ctest"
  ${VERIBIND_TOP_LEVEL})
if(VERIBIND_FUZZ_TESTS)
  set(veribind_fuzz_env FUZZ_BUILD_DIR=${PROJECT_BINARY_DIR}/fuzz)
  set(veribind_fuzz_script ${PROJECT_SOURCE_DIR}/scripts/fuzz.sh)
  add_test(NAME fuzz_build
    COMMAND ${CMAKE_COMMAND} -E env ${veribind_fuzz_env} bash ${veribind_fuzz_script} --build)
  # The longest test: a high COST makes ctest -j start it first, alongside the others.
  set_tests_properties(fuzz_build PROPERTIES TIMEOUT 1800 COST 10000
    FIXTURES_SETUP veribind_fuzz_build)
  # Seconds per target, about a minute in all. challenge_id's input space is small and is
  # covered in a second; the CLI builds its whole CLI11 app per input and runs slowest.
  foreach(target_seconds phone:14 email:14 challenge_id:6 cli:20)
    string(REPLACE ":" ";" pair ${target_seconds})
    list(GET pair 0 target)
    list(GET pair 1 seconds)
    add_test(NAME fuzz_${target}
      COMMAND ${CMAKE_COMMAND} -E env ${veribind_fuzz_env}
        bash ${veribind_fuzz_script} --no-build ${target} ${seconds})
    set_tests_properties(fuzz_${target} PROPERTIES TIMEOUT 300
      FIXTURES_REQUIRED veribind_fuzz_build)
  endforeach()
endif()
