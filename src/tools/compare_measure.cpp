// The measurements behind `veribind compare`: the region's mobile space (from libphonenumber's
// metadata, through its public API), hashing rates on this machine, and bytes per binding.
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <list>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "veribind/blind_index.hpp"
#include "veribind/compare.hpp"
#include "veribind/keys.hpp"

namespace veribind {
namespace {

using i18n::phonenumbers::PhoneNumberUtil;
using LibPhoneNumber = i18n::phonenumbers::PhoneNumber;

constexpr int kMaxE164Digits = 15;
constexpr int kMaxNationalDigits = 17;  // libphonenumber's own limit

std::uint64_t pow10(int n) {
  std::uint64_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

int digit_count(int v) { return v < 10 ? 1 : 1 + digit_count(v / 10); }

// The region and what libphonenumber knows of it, validated once.
struct RegionPlan {
  std::string region;
  int calling_code = 0;
  bool shared_calling_code = false;  // e.g. +1 (US, CA, ...), +44 (GB, GG, IM, JE)
  std::vector<int> lengths;
};

Result<RegionPlan> region_plan(std::string_view region) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  RegionPlan plan;
  plan.region = std::string(region);
  std::set<std::string> regions;
  util.GetSupportedRegions(&regions);
  if (regions.count(plan.region) == 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "region must be an ISO 3166-1 alpha-2 code libphonenumber knows (e.g. PK)");
  }
  plan.calling_code = util.GetCountryCodeForRegion(plan.region);
  std::list<std::string> sharing;
  util.GetRegionCodesForCountryCallingCode(plan.calling_code, &sharing);
  plan.shared_calling_code = sharing.size() > 1;
  // Possible lengths depend on the length alone, so one number of each length tells.
  for (int length = 1; length <= kMaxNationalDigits; ++length) {
    if (digit_count(plan.calling_code) + length > kMaxE164Digits) break;
    LibPhoneNumber n;
    n.set_country_code(plan.calling_code);
    n.set_national_number(pow10(length - 1));
    if (util.IsPossibleNumberForTypeWithReason(n, PhoneNumberUtil::MOBILE) ==
        PhoneNumberUtil::IS_POSSIBLE) {
      plan.lengths.push_back(length);
    }
  }
  if (plan.lengths.empty()) {
    return Status(ErrorCode::kPhoneTypeNotAllowed, "the region has no mobile numbers");
  }
  return plan;
}

// Classifies national significant numbers of one length as mobile of the region or not.
class MobileClassifier {
 public:
  MobileClassifier(const RegionPlan& plan, int length)
      : util_(*PhoneNumberUtil::GetInstance()), plan_(plan), length_(length) {
    number_.set_country_code(plan.calling_code);
  }

  bool is_mobile(std::uint64_t national) {
    ++tested;
    number_.set_national_number(national);
    // A national number that starts with zeros (as in CI, GA) keeps them in these two fields.
    const int zeros = leading_zeros(national);
    if (zeros > 0) {
      number_.set_italian_leading_zero(true);
      number_.set_number_of_leading_zeros(zeros);
    } else {
      number_.clear_italian_leading_zero();
      number_.clear_number_of_leading_zeros();
    }
    if (plan_.shared_calling_code) {
      std::string owner;
      util_.GetRegionCodeForNumber(number_, &owner);
      if (owner != plan_.region) return false;
    }
    const PhoneNumberUtil::PhoneNumberType type = util_.GetNumberType(number_);
    return type == PhoneNumberUtil::MOBILE || type == PhoneNumberUtil::FIXED_LINE_OR_MOBILE;
  }

  std::uint64_t tested = 0;

 private:
  int leading_zeros(std::uint64_t national) const {
    int digits = 0;
    for (std::uint64_t v = national; v > 0; v /= 10) ++digits;
    return length_ - digits;
  }

  const PhoneNumberUtil& util_;
  const RegionPlan& plan_;
  int length_;
  LibPhoneNumber number_;
};

struct SpaceCounter {
  MobileClassifier& classify;
  const MobileSpaceOptions& options;
  std::mt19937_64& random;
  int length;
  double variance = 0;
  std::uint64_t strata = 0;
  std::uint64_t mixed = 0;

  // Mobile numbers among the 10^(length - digits) numbers that start with `prefix`.
  double count(std::uint64_t prefix, int digits) {
    const int rest = length - digits;
    const std::uint64_t block = pow10(rest);
    const std::uint64_t first = prefix * block;
    if (block <= options.samples_per_stratum) {
      ++strata;
      std::uint64_t hits = 0;
      for (std::uint64_t n = 0; n < block; ++n) hits += classify.is_mobile(first + n) ? 1 : 0;
      return static_cast<double>(hits);
    }
    if (digits >= options.min_prefix_digits) {
      std::uniform_int_distribution<std::uint64_t> pick(0, block - 1);
      const std::size_t s = options.samples_per_stratum;
      std::size_t hits = 0;
      for (std::size_t i = 0; i < s; ++i) hits += classify.is_mobile(first + pick(random)) ? 1 : 0;
      const double fraction = static_cast<double>(hits) / static_cast<double>(s);
      if (hits == 0 || hits == s || digits >= options.max_prefix_digits) {
        ++strata;
        if (hits != 0 && hits != s) {
          ++mixed;
          const double b = static_cast<double>(block);
          variance += b * b * fraction * (1 - fraction) / static_cast<double>(s - 1);
        }
        return fraction * static_cast<double>(block);
      }
    }
    double total = 0;
    for (std::uint64_t d = 0; d < 10; ++d) total += count(prefix * 10 + d, digits + 1);
    return total;
  }
};

Status validate(const MobileSpaceOptions& o) {
  if (o.samples_per_stratum < 2 || o.samples_per_stratum > 10000000) {
    return {ErrorCode::kInvalidArgument, "samples_per_stratum must be 2..10000000"};
  }
  if (o.min_prefix_digits < 1 || o.min_prefix_digits > 6) {
    return {ErrorCode::kInvalidArgument, "min_prefix_digits must be 1..6"};
  }
  if (o.max_prefix_digits < o.min_prefix_digits || o.max_prefix_digits > 9) {
    return {ErrorCode::kInvalidArgument, "max_prefix_digits must be min_prefix_digits..9"};
  }
  return Status::ok();
}

// Times `rounds` rounds of `work(per_round)` and keeps the median.
template <typename Work>
RateMeasurement time_rounds(std::size_t per_round, std::size_t rounds, std::string_view what,
                            const Progress& progress, Work work) {
  std::vector<double> seconds;
  for (std::size_t r = 0; r < rounds; ++r) {
    if (progress) progress(what, r, rounds);
    const auto start = std::chrono::steady_clock::now();
    work(per_round);
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (progress) progress(what, rounds, rounds);
  std::sort(seconds.begin(), seconds.end());
  const double median =
      rounds % 2 == 1 ? seconds[rounds / 2] : (seconds[rounds / 2 - 1] + seconds[rounds / 2]) / 2;
  RateMeasurement m;
  m.per_round = per_round;
  m.rounds = rounds;
  // A round too quick for the clock still has a positive, if imprecise, rate.
  const double per_hash = std::max(median, 1e-9) / static_cast<double>(per_round);
  m.seconds_per_hash = per_hash;
  m.per_second = 1 / per_hash;
  return m;
}

Status validate_rate_input(const std::vector<std::string>& numbers, std::size_t per_round,
                           std::size_t rounds) {
  if (numbers.empty()) return {ErrorCode::kInvalidArgument, "no numbers to hash"};
  if (per_round == 0 || rounds == 0) {
    return {ErrorCode::kInvalidArgument, "iterations and rounds must be at least 1"};
  }
  return Status::ok();
}

}  // namespace

Result<MobileSpaceEstimate> estimate_mobile_space(std::string_view region,
                                                  const MobileSpaceOptions& options,
                                                  const Progress& progress) {
  if (Status s = validate(options); !s) return s;
  auto plan = region_plan(region);
  if (!plan) return plan.status();
  MobileSpaceEstimate estimate;
  estimate.region = plan->region;
  estimate.calling_code = plan->calling_code;
  estimate.lengths = plan->lengths;
  std::mt19937_64 random(options.seed);
  double variance = 0;
  const std::size_t top = static_cast<std::size_t>(pow10(1));
  std::size_t step = 0;
  const std::size_t steps = plan->lengths.size() * top;
  for (int length : plan->lengths) {
    MobileClassifier classify(*plan, length);
    SpaceCounter counter{classify, options, random, length};
    for (std::uint64_t d = 0; d < top; ++d, ++step) {
      if (progress) progress("mobile space", step, steps);
      estimate.numbers += counter.count(d, 1);
    }
    variance += counter.variance;
    estimate.tested += classify.tested;
    estimate.strata += counter.strata;
    estimate.mixed_strata += counter.mixed;
  }
  if (progress) progress("mobile space", steps, steps);
  estimate.standard_error = std::sqrt(variance);
  return estimate;
}

Result<std::vector<std::string>> sample_mobile_numbers(std::string_view region, std::size_t count,
                                                       std::uint64_t seed) {
  auto plan = region_plan(region);
  if (!plan) return plan.status();
  std::mt19937_64 random(seed);
  std::vector<std::string> numbers;
  numbers.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const int length = plan->lengths[i % plan->lengths.size()];
    MobileClassifier classify(*plan, length);
    std::uniform_int_distribution<std::uint64_t> pick(0, pow10(length) - 1);
    std::uint64_t national = pick(random);
    for (int tries = 1; tries < 1000 && !classify.is_mobile(national); ++tries) {
      national = pick(random);
    }
    char digits[32];
    std::snprintf(digits, sizeof digits, "%0*llu", length,
                  static_cast<unsigned long long>(national));
    std::string number = "+";
    number += std::to_string(plan->calling_code);
    number += digits;
    numbers.push_back(std::move(number));
  }
  return numbers;
}

Result<RateMeasurement> measure_blind_index_rate(const std::vector<std::string>& numbers,
                                                 std::size_t per_round, std::size_t rounds,
                                                 const Progress& progress) {
  if (Status s = validate_rate_input(numbers, per_round, rounds); !s) return s;
  auto ring = KeyRing::from_master_key(SecretBytes::random(KeyRing::kMasterKeyBytes));
  if (!ring) return ring.status();
  auto indexer = BlindIndexer::create(*ring);
  if (!indexer) return indexer.status();
  // compute() ends in a call into libsodium, which the compiler cannot see into or drop.
  return time_rounds(per_round, rounds, "blind index", progress, [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      (void)indexer->compute(Channel::kPhone, numbers[i % numbers.size()]);
    }
  });
}

Result<RateMeasurement> measure_sha256_rate(const std::vector<std::string>& numbers,
                                            std::size_t per_round, std::size_t rounds,
                                            const Progress& progress) {
  if (Status s = validate_rate_input(numbers, per_round, rounds); !s) return s;
  if (sodium_init() < 0) return Status(ErrorCode::kInternal, "libsodium failed to initialise");
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  return time_rounds(per_round, rounds, "sha-256", progress, [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& number = numbers[i % numbers.size()];
      crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(number.data()),
                         number.size());
    }
  });
}

Status Argon2idParams::validate() const {
  if (opslimit < 1 || opslimit > crypto_pwhash_OPSLIMIT_MAX) {
    return {ErrorCode::kInvalidArgument, "argon2id opslimit must be 1 or more"};
  }
  if (memlimit_bytes < crypto_pwhash_MEMLIMIT_MIN || memlimit_bytes > (std::size_t{4} << 30)) {
    return {ErrorCode::kInvalidArgument, "argon2id memlimit must be 8 KiB..4 GiB"};
  }
  return Status::ok();
}

Result<RateMeasurement> measure_argon2id_rate(const std::vector<std::string>& numbers,
                                              const Argon2idParams& params, std::size_t hashes,
                                              const Progress& progress) {
  if (Status s = validate_rate_input(numbers, 1, hashes); !s) return s;
  if (Status s = params.validate(); !s) return s;
  if (sodium_init() < 0) return Status(ErrorCode::kInternal, "libsodium failed to initialise");
  // A fixed salt: an index must be deterministic. A deployment would use a secret one (a pepper);
  // that changes nothing in the cost measured here.
  std::array<unsigned char, crypto_pwhash_SALTBYTES> salt{};
  std::array<unsigned char, 32> out{};
  bool failed = false;
  std::size_t next = 0;
  RateMeasurement m = time_rounds(1, hashes, "argon2id", progress, [&](std::size_t) {
    const std::string& number = numbers[next++ % numbers.size()];
    if (crypto_pwhash(out.data(), out.size(), number.data(), number.size(), salt.data(),
                      params.opslimit, params.memlimit_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
      failed = true;
    }
  });
  if (failed) return Status(ErrorCode::kUnavailable, "argon2id: not enough memory for memlimit");
  return m;
}

Result<BindingBytes> measure_binding_bytes(AccountStore& store, RetentionReport& report,
                                           Channel channel, std::size_t accounts, Timestamp now) {
  if (accounts == 0) return Status(ErrorCode::kInvalidArgument, "accounts must be at least 1");
  auto bindings_bytes = [&]() -> Result<RowKindStats> {
    auto stats = report.retention_stats(now);
    if (!stats) return stats.status();
    for (const RowKindStats& kind : *stats) {
      if (kind.kind == "bindings") return kind;
    }
    return Status(ErrorCode::kStoreError, "the store reports no bindings");
  };
  auto before = bindings_bytes();
  if (!before) return before.status();
  std::vector<std::string> ids;
  Status failure;
  for (std::size_t i = 0; i < accounts && failure.is_ok(); ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012zu", i % 1000000000000);  // a UUID
    BindingRecord binding;
    binding.account_id = id;
    binding.channel = channel;
    binding.created_at = now;
    randombytes_buf(binding.index.value.data(), binding.index.value.size());
    binding.index.key_version = 1;
    auto bound = store.insert_binding(binding, {}, 1);
    if (!bound) {
      failure = bound.status();
    } else if (*bound != BindOutcome::kBound) {
      failure = Status(ErrorCode::kStoreError, "measure_binding_bytes needs a scratch store");
    } else {
      ids.push_back(id);
    }
  }
  auto after = failure.is_ok() ? bindings_bytes() : Result<RowKindStats>(failure);
  for (const std::string& id : ids) (void)store.delete_bindings(id);
  if (!after) return after.status();
  BindingBytes bytes;
  bytes.method = after->bytes_method;
  bytes.per_account = (static_cast<double>(after->bytes) - static_cast<double>(before->bytes)) /
                      static_cast<double>(accounts);
  return bytes;
}

}  // namespace veribind
