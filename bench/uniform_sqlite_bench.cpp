// The refusal/send benchmark pairs (uniform_bench.hpp) on SQLite: a fresh database file under
// /tmp per benchmark, default durability.
#include "fresh_sqlite.hpp"
#include "uniform_bench.hpp"

namespace {

const bool registered = [] {
  veribind::bench::uniform::register_pairs("sqlite", [](int max_failed_checks) {
    return std::make_unique<veribind::bench::uniform::Rig>(
        veribind::bench::open_fresh_sqlite_store(), max_failed_checks);
  });
  return true;
}();

}  // namespace
