// compare: the arithmetic of compare_policies() on fixed inputs, the mobile-space estimator against
// exhaustive counts and plausible bounds, and the measuring functions' refusals.
#include "veribind/compare.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "veribind/store.hpp"

namespace veribind {
namespace {

CompareMeasurements fixed_measurements() {
  CompareMeasurements m;
  m.mobile_space.region = "PK";
  m.mobile_space.calling_code = 92;
  m.mobile_space.lengths = {10};
  m.mobile_space.numbers = 5e8;
  m.blind_index.per_second = 1e6;
  m.blind_index.per_round = 1000;
  m.blind_index.rounds = 3;
  m.sha256.per_second = 2e6;
  m.argon2id.seconds_per_hash = 0.1;
  m.phone_binding = {200, BytesMethod::kMeasured};
  m.email_binding = {210, BytesMethod::kMeasured};
  return m;
}

const CompareRow& row(const std::vector<CompareRow>& rows, const std::string& key) {
  for (const CompareRow& r : rows) {
    if (r.key == key) return r;
  }
  FAIL("no row " << key);
  return rows.front();
}

TEST_CASE("compare_policies: derived rows follow from the measured and assumed inputs",
          "[compare]") {
  CompareAssumptions a;
  a.sim_price_usd = 2;
  a.sms_price_usd = 0.1;
  a.email_price_usd = 0.001;
  a.send_budget_per_hour = 5000;
  a.breach_list_addresses = 1e9;
  a.attacker_cores = 4;
  auto rows = compare_policies(fixed_measurements(), a);
  REQUIRE(rows.is_ok());

  const CompareRow& keyed = row(*rows, "enumerate_if_key_leaks");
  REQUIRE(keyed.basis == Basis::kDerived);
  REQUIRE(*keyed.phone.value == Approx(5e8 / (1e6 * 4)));  // 125 s
  REQUIRE(keyed.phone.text == "2 min");
  REQUIRE(*keyed.email.value == Approx(1e9 / (1e6 * 4)));  // 250 s
  const CompareRow& sha = row(*rows, "enumerate_sha256");
  REQUIRE(*sha.phone.value == Approx(5e8 / (2e6 * 4)));
  REQUIRE(*sha.email.value == Approx(1e9 / (2e6 * 4)));
  const CompareRow& argon = row(*rows, "enumerate_argon2id");
  REQUIRE(*argon.phone.value == Approx(5e8 * 0.1 / 4));
  REQUIRE(*argon.email.value == Approx(1e9 * 0.1 / 4));
  const CompareRow& pumping = row(*rows, "pumping_exposure");
  REQUIRE(pumping.basis == Basis::kDerived);
  REQUIRE(*pumping.phone.value == Approx(5000 * 0.1));
  REQUIRE(pumping.phone.text == "USD 500/h");
  REQUIRE(*pumping.email.value == Approx(5000 * 0.001));

  REQUIRE(*row(*rows, "fake_account_cost").phone.value == 2);
  REQUIRE(row(*rows, "fake_account_cost").basis == Basis::kAssumed);
  REQUIRE(*row(*rows, "identifier_space").phone.value == 5e8);
  REQUIRE(row(*rows, "identifier_space").phone.text.rfind("5.00e8 mobile numbers (+92, 10", 0) ==
          0);
  REQUIRE_FALSE(row(*rows, "identifier_space").email.value.has_value());
  REQUIRE(row(*rows, "identifier_space").basis == Basis::kMeasured);
  REQUIRE(*row(*rows, "bytes_per_account").phone.value == 200);
  REQUIRE(*row(*rows, "bytes_per_account").email.value == 210);
  REQUIRE_FALSE(row(*rows, "lawful_request_reveals").phone.text.empty());
}

TEST_CASE("compare_policies: every row has a key, a label, a basis and both cells", "[compare]") {
  auto rows = compare_policies(fixed_measurements(), CompareAssumptions{});
  REQUIRE(rows.is_ok());
  std::vector<std::string> keys;
  for (const CompareRow& r : *rows) {
    keys.push_back(r.key);
    REQUIRE_FALSE(r.property.empty());
    REQUIRE_FALSE(r.phone.text.empty());
    REQUIRE_FALSE(r.email.text.empty());
    REQUIRE_FALSE(r.note.empty());
  }
  REQUIRE(keys == std::vector<std::string>{
                      "identifier_space", "guessable_identifiers", "blind_index_rate",
                      "enumerate_if_key_leaks", "sha256_rate", "enumerate_sha256", "argon2id_cost",
                      "enumerate_argon2id", "fake_account_cost", "verification_cost", "send_budget",
                      "pumping_exposure", "bytes_per_account", "lawful_request_reveals",
                      "lawful_request_cannot_reveal"});
  // Pure: the same inputs, the same rows.
  auto again = compare_policies(fixed_measurements(), CompareAssumptions{});
  REQUIRE(again->size() == rows->size());
  for (std::size_t i = 0; i < rows->size(); ++i)
    REQUIRE((*again)[i].phone.text == (*rows)[i].phone.text);
}

TEST_CASE("compare_policies: refuses negative assumptions and non-positive measurements",
          "[compare]") {
  CompareAssumptions a;
  a.sms_price_usd = -1;
  auto bad = compare_policies(fixed_measurements(), a);
  REQUIRE(bad.code() == ErrorCode::kInvalidArgument);
  REQUIRE(bad.status().message().find("sms_price_usd") != std::string::npos);
  a = {};
  a.attacker_cores = 0.5;
  REQUIRE(compare_policies(fixed_measurements(), a).code() == ErrorCode::kInvalidArgument);
  CompareMeasurements m = fixed_measurements();
  m.blind_index.per_second = 0;
  auto zero = compare_policies(m, {});
  REQUIRE(zero.code() == ErrorCode::kInvalidArgument);
  REQUIRE(zero.status().message().find("blind_index") != std::string::npos);
}

TEST_CASE("format_duration: reads at a glance from seconds to years", "[compare]") {
  REQUIRE(format_duration(42) == "42 s");
  REQUIRE(format_duration(125) == "2 min");
  REQUIRE(format_duration(3 * 3600) == "3.0 h");
  REQUIRE(format_duration(10 * 86400) == "10 days");
  REQUIRE(format_duration(2 * 365.25 * 86400) == "2.0 years");
}

// Regions whose mobile space is small enough to classify every number: the estimator with its
// defaults must find exactly what the exhaustive count finds.
TEST_CASE("estimate_mobile_space: matches an exhaustive count on small regions", "[compare]") {
  for (const char* region : {"FK", "CK"}) {
    INFO(region);
    MobileSpaceOptions exhaustive;
    exhaustive.samples_per_stratum = 10000000;  // every stratum is small enough to enumerate
    auto exact = estimate_mobile_space(region, exhaustive);
    REQUIRE(exact.is_ok());
    REQUIRE(exact->tested == 100000);  // all 5-digit numbers
    REQUIRE(exact->numbers > 0);
    auto estimate = estimate_mobile_space(region);
    REQUIRE(estimate.is_ok());
    REQUIRE(estimate->numbers == Approx(exact->numbers).epsilon(0.02));
    REQUIRE(estimate->tested < exact->tested);
  }
}

// Plausible bounds, from the national plans: PK mobiles are 3xx xxxxxxx (10 digits, under 1e9,
// about 50 ranges of 1e7); GB mobiles 7xxx xxxxxx (under 1e9, most of the 7 block); US numbers
// are 10 digits with area codes 2-9xx (under 8e9), several hundred area codes in use.
TEST_CASE("estimate_mobile_space: PK, GB and US land within plausible bounds", "[compare]") {
  struct Bound {
    const char* region;
    int calling_code;
    double low, high;
  };
  for (const Bound& b :
       {Bound{"PK", 92, 3e8, 7e8}, Bound{"GB", 44, 5e8, 1e9}, Bound{"US", 1, 1e9, 8e9}}) {
    INFO(b.region);
    auto estimate = estimate_mobile_space(b.region);
    REQUIRE(estimate.is_ok());
    REQUIRE(estimate->calling_code == b.calling_code);
    REQUIRE(estimate->lengths == std::vector<int>{10});
    REQUIRE(estimate->numbers >= b.low);
    REQUIRE(estimate->numbers <= b.high);
  }
}

TEST_CASE("estimate_mobile_space: a stratum still mixed at the deepest split has a standard error",
          "[compare]") {
  MobileSpaceOptions coarse;
  coarse.min_prefix_digits = 1;
  coarse.max_prefix_digits = 1;
  coarse.samples_per_stratum = 400;
  auto rough = estimate_mobile_space("US", coarse);
  REQUIRE(rough.is_ok());
  REQUIRE(rough->mixed_strata > 0);
  REQUIRE(rough->standard_error > 0);
  auto fine = estimate_mobile_space("US");
  REQUIRE(fine.is_ok());
  // Within four standard errors of the finer estimate.
  REQUIRE(std::abs(rough->numbers - fine->numbers) < 4 * rough->standard_error);
}

TEST_CASE("estimate_mobile_space: refuses unknown regions and options out of range", "[compare]") {
  REQUIRE(estimate_mobile_space("XX").code() == ErrorCode::kInvalidArgument);
  REQUIRE(estimate_mobile_space("pk").code() == ErrorCode::kInvalidArgument);
  MobileSpaceOptions o;
  o.samples_per_stratum = 1;
  REQUIRE(estimate_mobile_space("PK", o).code() == ErrorCode::kInvalidArgument);
  o = {};
  o.max_prefix_digits = 2;  // below min_prefix_digits
  REQUIRE(estimate_mobile_space("PK", o).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("measurements: rates are positive and bad arguments are refused", "[compare]") {
  auto numbers = sample_mobile_numbers("PK", 8);
  REQUIRE(numbers.is_ok());
  REQUIRE(numbers->size() == 8);
  for (const std::string& n : *numbers) REQUIRE(n.rfind("+923", 0) == 0);  // PK mobiles: +92 3..
  auto blind = measure_blind_index_rate(*numbers, 100, 3);
  REQUIRE(blind.is_ok());
  REQUIRE(blind->per_second > 0);
  REQUIRE(blind->seconds_per_hash == Approx(1 / blind->per_second));
  auto sha = measure_sha256_rate(*numbers, 100, 3);
  REQUIRE(sha.is_ok());
  REQUIRE(sha->per_second > 0);
  Argon2idParams small{1, 64 * 1024};
  auto argon = measure_argon2id_rate(*numbers, small, 2);
  REQUIRE(argon.is_ok());
  REQUIRE(argon->rounds == 2);
  REQUIRE(argon->seconds_per_hash > 0);

  REQUIRE(measure_blind_index_rate({}, 100, 3).code() == ErrorCode::kInvalidArgument);
  REQUIRE(measure_sha256_rate(*numbers, 0, 3).code() == ErrorCode::kInvalidArgument);
  REQUIRE(measure_argon2id_rate(*numbers, Argon2idParams{0, 64 * 1024}, 1).code() ==
          ErrorCode::kInvalidArgument);
  REQUIRE(measure_argon2id_rate(*numbers, Argon2idParams{1, 1024}, 1).code() ==
          ErrorCode::kInvalidArgument);
}

TEST_CASE("measure_binding_bytes: measures growth per account and leaves no binding behind",
          "[compare]") {
  MemoryStore store;
  const Timestamp now{std::chrono::milliseconds(1767225600000)};
  auto bytes = measure_binding_bytes(store, store, Channel::kEmail, 50, now);
  REQUIRE(bytes.is_ok());
  REQUIRE(bytes->method == BytesMethod::kEstimate);
  // At least the blind index and the 36-character account id, kept twice (by index, by account).
  REQUIRE(bytes->per_account >= 32 + 2 * 36);
  auto stats = store.retention_stats(now);
  REQUIRE(stats.is_ok());
  for (const RowKindStats& s : *stats) REQUIRE(s.rows == 0);
  REQUIRE(measure_binding_bytes(store, store, Channel::kPhone, 0, now).code() ==
          ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace veribind
