// What the fuzz targets share: a property check that holds in every build type (a failed check
// aborts, which libFuzzer records as a crash with the input that caused it).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include "veribind/result.hpp"

#define FUZZ_CHECK(condition, what)                                                 \
  do {                                                                              \
    if (!(condition)) ::veribind::fuzz::fail(__FILE__, __LINE__, #condition, what); \
  } while (0)

namespace veribind::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* condition,
                              std::string_view what) {
  std::fprintf(stderr, "%s:%d: property violated: %.*s\n  check: %s\n", file, line,
               static_cast<int>(what.size()), what.data(), condition);
  std::abort();
}

inline bool one_of(ErrorCode code, std::initializer_list<ErrorCode> documented) {
  for (ErrorCode c : documented) {
    if (c == code) return true;
  }
  return false;
}

inline bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

inline std::size_t count_digits(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += is_ascii_digit(c) ? 1 : 0;
  return n;
}

}  // namespace veribind::fuzz
