#include "veribind/registry.hpp"

#include <sodium.h>

#include <algorithm>

#include "internal/audit_chain.hpp"
#include "internal/contact_seal.hpp"

namespace veribind {

Status Registry::validate_account_id(std::string_view account_id) {
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

std::string_view security_purpose_name(SecurityPurpose purpose) noexcept {
  switch (purpose) {
    case SecurityPurpose::kRecovery: return "recovery";
    case SecurityPurpose::kSecurityNotice: return "security_notice";
  }
  return "unknown";
}

std::optional<SecurityPurpose> security_purpose_from_name(std::string_view name) noexcept {
  if (name == "recovery") return SecurityPurpose::kRecovery;
  if (name == "security_notice") return SecurityPurpose::kSecurityNotice;
  return std::nullopt;
}

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

Status Registry::preflight(std::string_view account_id, std::string_view challenge_id,
                           Purpose purpose) {
  if (Status s = validate_account_id(account_id); !s) return s;
  auto id = ChallengeId::parse(challenge_id);
  if (!id) return id.status();
  auto found = store_->find_challenge(*id);
  if (!found) return found.status();
  // A challenge that check() would refuse anyway (unknown, expired, locked) gets check()'s uniform
  // answer, not a policy verdict that would tell its holder that it is live.
  if (!found->has_value()) return Status::ok();
  const ChallengeRecord& r = **found;
  if (clock_->now() >= r.expires_at || r.attempts >= r.max_attempts) return Status::ok();
  return policy_refusal(r.channel, purpose, r.phone_type, {r.region.data(), r.region.size()},
                        r.provider_canonical);
}

Result<Registry> Registry::create(LinkPolicy policy, const KeyRing& ring, Store& store,
                                  const Clock& clock) {
  return make(std::move(policy), ring, store, clock, nullptr);
}

Result<Registry> Registry::create(LinkPolicy policy, const KeyRing& ring, Store& store,
                                  const Clock& clock, ContactKeyStore& contact_keys) {
  return make(std::move(policy), ring, store, clock, &contact_keys);
}

Result<Registry> Registry::make(LinkPolicy policy, const KeyRing& ring, Store& store,
                                const Clock& clock, ContactKeyStore* contact_keys) {
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
  Registry registry(std::move(policy), std::move(indexers), store, clock);
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

Registry::Registry(LinkPolicy policy, std::vector<BlindIndexer> indexers, Store& store,
                   const Clock& clock)
    : policy_(std::move(policy)), indexers_(std::move(indexers)), store_(&store), clock_(&clock) {}

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
  auto outcome = store_->insert_binding(binding, policy_.max_accounts_per_identifier);
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
      store_->insert_binding_across(binding, other_versions, policy_.max_accounts_per_identifier);
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
        store_->find_accounts(it == indexers_.rbegin() ? found.index : it->compute(*canonical));
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
      internal::append_audit_entry(*store_, audit_key_, audit_key_version_, std::move(entry));
  if (!appended) return appended.status();
  return Disclosure{std::move(found->accounts), appended->sequence, found->index};
}

Result<std::size_t> Registry::unlink(std::string_view account_id) { return erase(account_id); }

Result<std::size_t> Registry::erase(std::string_view account_id) {
  if (Status s = validate_account_id(account_id); !s) return s;
  auto bindings = store_->bindings_of_account(account_id);
  if (!bindings) return bindings.status();
  std::vector<DataKeyId> keys;
  for (const BindingRecord& binding : *bindings) {
    if (binding.sealed_contact.empty()) continue;
    const std::optional<DataKeyId> id = internal::sealed_key_id(binding.sealed_contact);
    // An unreadable seal names no key; the binding still goes.
    if (id) keys.push_back(*id);
  }
  if (!keys.empty() && contact_keys_ == nullptr) {
    return Status(ErrorCode::kInvalidConfig,
                  "the account has a sealed contact: erasing it needs the contact key store");
  }
  for (const DataKeyId& id : keys) {
    auto erased = contact_keys_->erase(id);
    if (!erased) return erased.status();
  }
  return store_->delete_bindings(account_id);
}

Result<SecretBytes> Registry::open_sealed(const BindingRecord& binding) {
  if (contact_keys_ == nullptr) {
    return Status(ErrorCode::kInvalidConfig,
                  "reading a sealed contact needs the contact key store");
  }
  const std::optional<DataKeyId> id = internal::sealed_key_id(binding.sealed_contact);
  if (!id) return Status(ErrorCode::kContactSealBroken, "the sealed contact is malformed");
  auto wrapped = contact_keys_->get(*id);
  if (!wrapped) return wrapped.status();
  if (!wrapped->has_value()) {
    return Status(ErrorCode::kKeyUnavailable,
                  "the contact's data key is gone: the contact was erased");
  }
  const SecretBytes* kek = kek_for((*wrapped)->kek_version);
  if (kek == nullptr) {
    return Status(ErrorCode::kKeyUnavailable,
                  "the contact's data key is wrapped under a key version the ring does not hold");
  }
  auto data_key = internal::unwrap_data_key(**wrapped, *kek);
  if (!data_key) return data_key.status();
  return internal::open_contact(*data_key, {binding.account_id, binding.channel, binding.index},
                                binding.sealed_contact);
}

Result<Identifier> Registry::contact(std::string_view account_id, SecurityPurpose purpose) {
  if (Status s = validate_account_id(account_id); !s) return s;
  if (purpose != SecurityPurpose::kRecovery && purpose != SecurityPurpose::kSecurityNotice) {
    return Status(ErrorCode::kNotASecurityPurpose,
                  "a sealed contact is read only for recovery or a security notice");
  }
  auto bindings = store_->bindings_of_account(account_id);
  if (!bindings) return bindings.status();
  const BindingRecord* binding = nullptr;
  for (const BindingRecord& b : *bindings) {
    if (b.channel == policy_.channel) binding = &b;
  }
  if (binding == nullptr || binding->sealed_contact.empty()) {
    return Status(ErrorCode::kNoContact, "the account has no sealed contact on this channel");
  }
  auto plain = open_sealed(*binding);
  if (!plain) return plain.status();
  const std::string_view text(reinterpret_cast<const char*>(plain->reveal().data()), plain->size());
  if (binding->channel == Channel::kPhone) {
    auto phone = PhoneNumber::parse(text, {}, PhoneTypeSet::all());
    if (!phone) return Status(ErrorCode::kContactSealBroken, "the sealed contact does not parse");
    return Identifier(std::move(phone).value());
  }
  auto email = EmailAddress::parse(text, policy_.email_options);
  if (!email) return Status(ErrorCode::kContactSealBroken, "the sealed contact does not parse");
  return Identifier(std::move(email).value());
}

Result<bool> Registry::move_binding(const BindingRecord& binding, const BlindIndex& to) {
  if (binding.sealed_contact.empty()) {
    return store_->reindex_binding(binding.account_id, binding.channel, binding.index, to, {});
  }
  const std::optional<DataKeyId> id = internal::sealed_key_id(binding.sealed_contact);
  if (!id) return Status(ErrorCode::kContactSealBroken, "the sealed contact is malformed");
  auto wrapped =
      contact_keys_ == nullptr
          ? Result<std::optional<WrappedDataKey>>(
                Status(ErrorCode::kInvalidConfig, "moving a sealed contact needs the key store"))
          : contact_keys_->get(*id);
  if (!wrapped) return wrapped.status();
  if (!wrapped->has_value()) {
    return Status(ErrorCode::kKeyUnavailable, "the contact's data key is gone: it was erased");
  }
  const SecretBytes* kek = kek_for((*wrapped)->kek_version);
  if (kek == nullptr) {
    return Status(ErrorCode::kKeyUnavailable,
                  "the contact's data key is wrapped under a key version the ring does not hold");
  }
  auto key = internal::unwrap_data_key(**wrapped, *kek);
  if (!key) return key.status();
  auto plain = internal::open_contact(*key, {binding.account_id, binding.channel, binding.index},
                                      binding.sealed_contact);
  if (!plain) return plain.status();
  // The same data key, a new nonce, the new binding's associated data.
  const internal::DataKey data_key{*id, std::move(key).value()};
  const std::string_view text(reinterpret_cast<const char*>(plain->reveal().data()), plain->size());
  const std::vector<std::uint8_t> resealed =
      internal::seal_contact(data_key, {binding.account_id, binding.channel, to}, text);
  return store_->reindex_binding(binding.account_id, binding.channel, binding.index, to, resealed);
}

Result<std::size_t> Registry::refresh(const Identifier& identifier, VerifiedIdentifier verified) {
  if (verified.spent()) {
    return Status(ErrorCode::kVerificationSpent, "this verification was already used");
  }
  if (verified.channel() != policy_.channel) {
    return Status(ErrorCode::kWrongChannel, "the " + policy_.name + " policy binds " +
                                                std::string(channel_name(policy_.channel)) +
                                                " identifiers only");
  }
  if (Status s = matches(identifier, verified.index()); !s) return s;
  auto canonical = canonical_for_policy(identifier);
  if (!canonical) return canonical.status();
  const BlindIndex to = current().compute(*canonical);
  std::size_t moved = 0;
  for (const BlindIndexer& indexer : indexers_) {
    if (indexer.key_version() == current().key_version()) continue;
    const BlindIndex from = indexer.compute(*canonical);
    auto accounts = store_->find_accounts(from);
    if (!accounts) return accounts.status();
    for (const std::string& account : *accounts) {
      auto bindings = store_->bindings_of_account(account);
      if (!bindings) return bindings.status();
      for (const BindingRecord& binding : *bindings) {
        if (binding.channel != policy_.channel || binding.index != from) continue;
        auto done = move_binding(binding, to);
        if (!done) return done.status();
        moved += *done ? 1 : 0;
      }
    }
  }
  return moved;
}

Result<RotationReport> Registry::rotate(std::size_t batch) {
  if (batch == 0) return Status(ErrorCode::kInvalidArgument, "batch must be at least 1");
  RotationReport report;
  const std::uint32_t now_version = current().key_version();
  // 1. Data keys: wrapped again under the current version (orphans included, so that nothing is
  //    left under an old version). The data key itself, and so every ciphertext, is unchanged.
  if (contact_keys_ != nullptr) {
    const SecretBytes* new_kek = kek_for(now_version);
    for (const auto& [version, kek] : keks_) {
      if (version == now_version) continue;
      std::optional<DataKeyId> after;
      while (true) {
        auto keys = contact_keys_->with_kek_version(version, after, batch);
        if (!keys) return keys.status();
        for (const WrappedDataKey& old : *keys) {
          auto data_key = internal::unwrap_data_key(old, kek);
          if (!data_key) return data_key.status();
          const internal::DataKey key{old.key_id, std::move(data_key).value()};
          auto done =
              contact_keys_->rewrap(internal::wrap_data_key(key, *new_kek, now_version), version);
          if (!done) return done.status();
          report.data_keys_rewrapped += *done ? 1 : 0;
        }
        if (keys->size() < batch) break;
        after = keys->back().key_id;
      }
    }
  }
  // 2. Sealed bindings: re-indexed from their opened contact. Unsealed ones are counted.
  for (const BlindIndexer& indexer : indexers_) {
    if (indexer.key_version() == now_version) continue;
    BindingCursor after;
    while (true) {
      auto bindings = store_->bindings_with_key_version(indexer.key_version(), after, batch);
      if (!bindings) return bindings.status();
      for (const BindingRecord& binding : *bindings) {
        if (binding.sealed_contact.empty()) {
          ++report.awaiting_verification;
          continue;
        }
        auto plain = open_sealed(binding);
        if (!plain && plain.code() == ErrorCode::kKeyUnavailable) {
          ++report.sealed_unreadable;  // its key was erased or retired: nothing can move it
          continue;
        }
        if (!plain) return plain.status();
        const std::string_view text(reinterpret_cast<const char*>(plain->reveal().data()),
                                    plain->size());
        const BlindIndex to = current().compute(binding.channel, text);
        auto done = move_binding(binding, to);
        if (!done) return done.status();
        report.sealed_reindexed += *done ? 1 : 0;
      }
      if (bindings->size() < batch) break;
      after = {bindings->back().account_id, bindings->back().channel};
    }
  }
  return report;
}

Result<KeyUsage> Registry::key_version_usage(std::uint32_t key_version) {
  auto usage = store_->key_version_usage(key_version, clock_->now());
  if (!usage) return usage.status();
  KeyUsage out{usage->bindings, usage->challenges, 0, 0};
  if (contact_keys_ != nullptr) {
    auto keys = contact_keys_->count_kek_version(key_version);
    if (!keys) return keys.status();
    out.data_keys = *keys;
  }
  // The audit log, in batches: an operator's command, not a hot path.
  constexpr std::size_t kBatch = 1000;
  for (std::uint64_t from = 1;;) {
    auto entries = store_->scan_audit(from, kBatch);
    if (!entries) return entries.status();
    for (const AuditRecord& e : *entries) out.audit_entries += e.mac_key_version == key_version;
    if (entries->size() < kBatch) break;
    from = entries->back().sequence + 1;
  }
  auto head = store_->audit_head();
  if (!head) return head.status();
  if (*head && (*head)->mac_key_version == key_version) ++out.audit_entries;
  return out;
}

}  // namespace veribind
