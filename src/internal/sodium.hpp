// libsodium must be initialised once before use; sodium_init is idempotent and thread-safe, and
// the static makes later calls free.
#pragma once

#include <sodium.h>

#include <cstdlib>

namespace veribind::internal {

inline void ensure_sodium() noexcept {
  static const bool initialised = sodium_init() >= 0;
  // Without a working CSPRNG nothing here is safe: refuse to run rather than emit weak codes.
  if (!initialised) std::abort();
}

}  // namespace veribind::internal
