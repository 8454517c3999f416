// How many keyed hashes (MACs/PRFs) this thread has computed. Each keyed-hash helper adds one, so
// a test can show that two code paths compute the same number of them (enumeration safety: the
// work start() does must not depend on the identifier's state). One thread-local add per hash.
#pragma once

#include <cstdint>

namespace veribind::internal {

inline thread_local std::uint64_t mac_count = 0;

}  // namespace veribind::internal
