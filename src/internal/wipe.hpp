// Wiping plaintext that lives in ordinary strings (identifiers in memory). Key material uses
// SecretBytes instead.
#pragma once

#include <sodium.h>

#include <string>

namespace veribind::internal {

// Zeroes the whole buffer of `s`, including bytes past size() (a short string's inline buffer
// keeps old characters after a move), then empties it.
inline void wipe(std::string& s) noexcept {
  if (s.capacity() > 0) sodium_memzero(s.data(), s.capacity());
  s.clear();
}

// Wipes a string on every path out of a scope.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;
  ~WipeOnExit() { wipe(s_); }

 private:
  std::string& s_;
};

}  // namespace veribind::internal
