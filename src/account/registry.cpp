#include "veribind/registry.hpp"

#include <sodium.h>

#include <algorithm>

#include "account/internal/plaintext_guard.hpp"
#include "internal/audit_chain.hpp"
#include "internal/contact_seal.hpp"

namespace veribind {

Status Registry::validate_account_id_form(std::string_view account_id) {
  if (account_id.empty() || account_id.size() > Registry::kMaxAccountIdBytes) {
    return {ErrorCode::kInvalidAccountId, "account id must be 1..128 bytes"};
  }
  const bool printable = std::all_of(account_id.begin(), account_id.end(),
                                     [](char c) { return c > 0x20 && c < 0x7f; });
  if (!printable) {
    return {ErrorCode::kInvalidAccountId, "account id must be printable ASCII without spaces"};
  }
  return Status::ok();
}

Status Registry::validate_account_id(std::string_view account_id) {
  if (Status s = validate_account_id_form(account_id); !s) return s;
  const internal::PersonalData found = internal::personal_data_in_account_id(account_id);
  if (found != internal::PersonalData::kNone) {
    return {ErrorCode::kAccountIdPersonalData,
            "account id holds what parses as " + std::string(internal::personal_data_name(found)) +
                "; account ids are stored in the clear beside the blind index, so use the "
                "backend's own opaque id"};
  }
  return Status::ok();
}

Status Registry::policy_refusal(Channel channel, Purpose purpose, PhoneType phone_type,
                                std::string_view region, bool provider_canonical) const {
  if (channel != policy_.channel) {
    return {ErrorCode::kWrongChannel, "the " + policy_.name + " policy binds accounts to " +
                                          std::string(channel_name(policy_.channel)) +
                                          " identifiers only"};
  }
  if (purpose != Purpose::kSignup && purpose != Purpose::kChangeIdentifier) {
    return {ErrorCode::kWrongPurpose,
            "only a signup or change-identifier verification can link an account"};
  }
  if (channel == Channel::kEmail &&
      provider_canonical != policy_.email_options.provider_canonicalization) {
    return {ErrorCode::kEmailFormMismatch,
            "the email was not parsed with this policy's email options before start()"};
  }
  if (channel == Channel::kPhone) {
    if (!policy_.allowed_phone_types.contains(phone_type)) {
      return {ErrorCode::kPhoneTypeNotAllowed, "the policy does not bind numbers of type " +
                                                   std::string(phone_type_name(phone_type))};
    }
    if (!policy_.allowed_regions.empty() &&
        std::find(policy_.allowed_regions.begin(), policy_.allowed_regions.end(), region) ==
            policy_.allowed_regions.end()) {
      return {ErrorCode::kRegionNotAllowed, "the policy does not bind numbers of that region"};
    }
  }
  return Status::ok();
}

namespace {

Status bind_outcome_status(BindOutcome outcome) {
  switch (outcome) {
    case BindOutcome::kBound: return Status::ok();
    case BindOutcome::kIdentifierFull:
      return {ErrorCode::kAlreadyBound,
              "this identifier is already bound to the maximum number of accounts"};
    case BindOutcome::kAccountHasBinding:
      return {ErrorCode::kAccountHasBinding,
              "the account is already bound to an identifier of this kind; unlink it first"};
  }
  return {ErrorCode::kInternal, "unexpected binding outcome"};
}

}  // namespace

Status Registry::matches(const Identifier& identifier, const BlindIndex& proven) const {
  const BlindIndexer* indexer = indexer_for(proven.key_version);
  if (indexer == nullptr) {
    return {ErrorCode::kKeyUnavailable,
            "the verification was made under a key version this registry does not hold"};
  }
  const BlindIndex index = indexer->compute(identifier);
  if (sodium_memcmp(index.value.data(), proven.value.data(), index.value.size()) != 0) {
    return {ErrorCode::kIdentifierMismatch, "the identifier is not the one that was verified"};
  }
  return Status::ok();
}

Status Registry::preflight(std::string_view account_id, Verifier& verifier,
                           std::string_view challenge_id, Purpose purpose) {
  if (Status s = validate_account_id(account_id); !s) return s;
  auto found = verifier.live_challenge(challenge_id);
  if (!found) return found.status();
  // A challenge that check() would refuse anyway (unknown, expired, locked) gets check()'s uniform
  // answer, not a policy verdict that would tell its holder that it is live.
  if (!found->has_value()) return Status::ok();
  const ChallengeRecord& r = **found;
  return policy_refusal(r.channel, purpose, r.phone_type, {r.region.data(), r.region.size()},
                        r.provider_canonical);
}

Result<Registry> Registry::create(LinkPolicy policy, const KeyRing& ring, AccountStore& accounts,
                                  AuditStore& audit, const Clock& clock) {
  return make(std::move(policy), ring, accounts, audit, clock, nullptr);
}

Result<Registry> Registry::create(LinkPolicy policy, const KeyRing& ring, AccountStore& accounts,
                                  AuditStore& audit, const Clock& clock,
                                  ContactKeyStore& contact_keys) {
  return make(std::move(policy), ring, accounts, audit, clock, &contact_keys);
}

Result<Registry> Registry::make(LinkPolicy policy, const KeyRing& ring, AccountStore& accounts,
                                AuditStore& audit, const Clock& clock,
                                ContactKeyStore* contact_keys) {
  if (Status s = policy.validate(); !s) return s;
  if (policy.retain_contact == RetainContact::kSealed && contact_keys == nullptr) {
    return Status(ErrorCode::kInvalidConfig,
                  "retain_contact = sealed needs a ContactKeyStore for the data keys");
  }
  std::vector<BlindIndexer> indexers;
  for (std::uint32_t version : ring.versions()) {
    auto indexer = BlindIndexer::create(ring, version);
    if (!indexer) return indexer.status();
    indexers.push_back(std::move(indexer).value());
  }
  if (indexers.empty()) return Status(ErrorCode::kKeyUnavailable, "the key ring is empty");
  auto audit_key = ring.derive(KeyPurpose::kAuditChain, ring.current_version());
  if (!audit_key) return audit_key.status();
  Registry registry(std::move(policy), std::move(indexers), accounts, audit, clock);
  registry.audit_key_ = std::move(audit_key).value();
  registry.audit_key_version_ = ring.current_version();
  if (contact_keys != nullptr) {
    registry.contact_keys_ = contact_keys;
    for (std::uint32_t version : ring.versions()) {
      auto kek = ring.derive(KeyPurpose::kContactSeal, version);
      if (!kek) return kek.status();
      registry.keks_.emplace_back(version, std::move(kek).value());
    }
  }
  return registry;
}

Registry::Registry(LinkPolicy policy, std::vector<BlindIndexer> indexers, AccountStore& accounts,
                   AuditStore& audit, const Clock& clock)
    : policy_(std::move(policy)),
      indexers_(std::move(indexers)),
      accounts_(&accounts),
      audit_(&audit),
      clock_(&clock) {}

const BlindIndexer* Registry::indexer_for(std::uint32_t version) const noexcept {
  for (const BlindIndexer& indexer : indexers_) {
    if (indexer.key_version() == version) return &indexer;
  }
  return nullptr;
}

const SecretBytes* Registry::kek_for(std::uint32_t version) const noexcept {
  for (const auto& [v, kek] : keks_) {
    if (v == version) return &kek;
  }
  return nullptr;
}

Status Registry::link(std::string_view account_id, VerifiedIdentifier verified) {
  if (Status s = validate_account_id(account_id); !s) return s;
  if (verified.spent()) {
    return {ErrorCode::kVerificationSpent, "this verification was already used"};
  }
  if (policy_.retain_contact == RetainContact::kSealed) {
    return {ErrorCode::kIdentifierRequired,
            "this policy seals the contact: link with the verified identifier too"};
  }
  if (indexers_.size() > 1) {
    return {ErrorCode::kIdentifierRequired,
            "several key versions are active: link with the verified identifier, so that its "
            "bindings under every version count"};
  }
  if (Status s = policy_refusal(verified.channel(), verified.purpose(), verified.phone_type(),
                                verified.region(), verified.provider_canonical());
      !s) {
    return s;
  }
  BindingRecord binding{
      std::string(account_id), verified.index(), verified.channel(), clock_->now(), {}};
  auto outcome = accounts_->insert_binding(binding, {}, policy_.max_accounts_per_identifier);
  if (!outcome) return outcome.status();
  return bind_outcome_status(*outcome);
}

Status Registry::link(std::string_view account_id, VerifiedIdentifier verified,
                      const Identifier& identifier) {
  if (Status s = validate_account_id(account_id); !s) return s;
  if (verified.spent()) {
    return {ErrorCode::kVerificationSpent, "this verification was already used"};
  }
  if (Status s = policy_refusal(verified.channel(), verified.purpose(), verified.phone_type(),
                                verified.region(), verified.provider_canonical());
      !s) {
    return s;
  }
  if (Status s = matches(identifier, verified.index()); !s) return s;

  BindingRecord binding{std::string(account_id),
                        current().compute(identifier),
                        identifier.channel(),
                        clock_->now(),
                        {}};
  std::vector<BlindIndex> other_versions;
  for (const BlindIndexer& indexer : indexers_) {
    if (indexer.key_version() != current().key_version()) {
      other_versions.push_back(indexer.compute(identifier));
    }
  }
  std::optional<DataKeyId> sealed_with;
  if (policy_.retain_contact == RetainContact::kSealed) {
    const internal::DataKey key = internal::new_data_key();
    const SecretBytes* kek = kek_for(current().key_version());
    if (kek == nullptr) return {ErrorCode::kKeyUnavailable, "no contact-seal key"};
    // The key goes in first: a binding must never point at a key that was not stored.
    if (Status s = contact_keys_->put(internal::wrap_data_key(key, *kek, current().key_version()));
        !s) {
      return s;
    }
    sealed_with = key.id;
    binding.sealed_contact = internal::seal_contact(
        key, {binding.account_id, binding.channel, binding.index}, identifier.canonical());
  }
  auto outcome =
      accounts_->insert_binding(binding, other_versions, policy_.max_accounts_per_identifier);
  if ((!outcome || *outcome != BindOutcome::kBound) && sealed_with) {
    // Nothing was bound: its key must not outlive the attempt. Best effort; an orphan key opens
    // nothing without the ciphertext, which was never stored.
    (void)contact_keys_->erase(*sealed_with);
  }
  if (!outcome) return outcome.status();
  return bind_outcome_status(*outcome);
}

Result<Identifier> Registry::canonical_for_policy(const Identifier& identifier) const {
  const bool policy_canonical = policy_.email_options.provider_canonicalization;
  if (const EmailAddress* email = identifier.email();
      email != nullptr && email->provider_canonical() != policy_canonical) {
    // Canonicalization can be applied late, but not undone: the typed form is gone.
    if (!policy_canonical) {
      return Status(ErrorCode::kEmailFormMismatch,
                    "the email was parsed with provider canonicalization; this policy has none");
    }
    auto canonical = EmailAddress::parse(email->canonical(), policy_.email_options);
    if (!canonical) return canonical.status();
    return Identifier(std::move(canonical).value());
  }
  return identifier;
}

Result<Registry::Lookup> Registry::lookup(const Identifier& identifier) {
  auto canonical = canonical_for_policy(identifier);
  if (!canonical) return canonical.status();
  Lookup found{current().compute(*canonical), {}};
  // Newest version first; a binding lives under exactly one version, so no account repeats
  // unless it was bound twice, which the uniqueness rule prevents.
  for (auto it = indexers_.rbegin(); it != indexers_.rend(); ++it) {
    auto accounts =
        accounts_->find_accounts(it == indexers_.rbegin() ? found.index : it->compute(*canonical));
    if (!accounts) return accounts.status();
    for (std::string& account : *accounts) {
      if (std::find(found.accounts.begin(), found.accounts.end(), account) ==
          found.accounts.end()) {
        found.accounts.push_back(std::move(account));
      }
    }
  }
  return found;
}

Result<std::vector<std::string>> Registry::find(const Identifier& identifier) {
  auto found = lookup(identifier);
  if (!found) return found.status();
  return std::move(found->accounts);
}

// The lookup happens first and its answer stays in this frame until the entry recording it,
// with the number of accounts actually returned, is committed. A failed append returns the error
// and drops the answer: nothing leaves the library unaudited. Appending before the lookup would
// not know the count; doing both in one store transaction would tie the lookup to one backend
// call, where lookup() consults every active key version.
Result<Disclosure> Registry::disclose(const Identifier& identifier, const LegalRequest& request) {
  if (Status s = request.validate(); !s) return s;
  auto found = lookup(identifier);
  if (!found) return found.status();
  AuditRecord entry;
  entry.time = clock_->now();
  entry.authority = request.authority;
  entry.reference = request.reference;
  entry.legal_basis = request.legal_basis;
  entry.requested_by = request.requested_by;
  entry.index = found->index;
  entry.channel = identifier.channel();
  entry.accounts_returned = static_cast<std::uint32_t>(found->accounts.size());
  auto appended =
      internal::append_audit_entry(*audit_, audit_key_, audit_key_version_, std::move(entry));
  if (!appended) return appended.status();
  return Disclosure{std::move(found->accounts), appended->sequence, found->index};
}

Result<KeyUsage> Registry::key_version_usage(std::uint32_t key_version, Verifier& verifier) {
  auto bindings = accounts_->count_bindings(key_version);
  if (!bindings) return bindings.status();
  auto challenges = verifier.live_challenges(key_version);
  if (!challenges) return challenges.status();
  KeyUsage out{*bindings, *challenges, 0, 0};
  if (contact_keys_ != nullptr) {
    auto keys = contact_keys_->count_kek_version(key_version);
    if (!keys) return keys.status();
    out.data_keys = *keys;
  }
  // The audit log, in batches: an operator's command, not a hot path.
  constexpr std::size_t kBatch = 1000;
  for (std::uint64_t from = 1;;) {
    auto entries = audit_->scan_audit(from, kBatch);
    if (!entries) return entries.status();
    for (const AuditRecord& e : *entries) out.audit_entries += e.mac_key_version == key_version;
    if (entries->size() < kBatch) break;
    from = entries->back().sequence + 1;
  }
  auto head = audit_->audit_head();
  if (!head) return head.status();
  if (*head && (*head)->mac_key_version == key_version) ++out.audit_entries;
  return out;
}

}  // namespace veribind
