// The refusal/send benchmark pairs (uniform_bench.hpp) on SQLite: a fresh database file under
// /tmp per benchmark, default durability.
#include <unistd.h>

#include <filesystem>

#include "uniform_bench.hpp"
#include "veribind/sqlite_store.hpp"

namespace {

const bool registered = [] {
  veribind::bench::uniform::register_pairs("sqlite", [](int max_failed_checks) {
    char dir[] = "/tmp/veribind-uniform-XXXXXX";
    if (::mkdtemp(dir) == nullptr) std::abort();
    auto store = veribind::SqliteStore::open((std::filesystem::path(dir) / "bench.db").string());
    if (!store) std::abort();
    return std::make_unique<veribind::bench::uniform::Rig>(std::move(store).value(),
                                                           max_failed_checks);
  });
  return true;
}();

}  // namespace
