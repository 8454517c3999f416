// Registry: sealed contacts, their one way in (the data key, unwrapped), and erasure.
#include "internal/contact_seal.hpp"
#include "veribind/registry.hpp"

namespace veribind {

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

Result<std::size_t> Registry::unlink(std::string_view account_id) {
  auto erased = erase(account_id);
  if (!erased) return erased.status();
  return erased->bindings_removed;
}

// Every key is looked up before any is destroyed: a key store that lacks one of them is not the
// store these contacts were sealed into (or an earlier erasure got half-way), and destroying the
// others first would turn a refusal into a partial erasure.
Result<Erasure> Registry::erase(std::string_view account_id, EraseMode mode) {
  // The form only: an id that holds personal data (stored before that was refused) must still be
  // erasable, since erasing it is what removes it.
  if (Status s = validate_account_id_form(account_id); !s) return s;
  auto bindings = accounts_->bindings_of_account(account_id);
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
  if (mode != EraseMode::kFinishInterrupted) {
    for (const DataKeyId& id : keys) {
      auto found = contact_keys_->get(id);
      if (!found) return found.status();
      if (!found->has_value()) {
        return Status(ErrorCode::kContactKeyMissing,
                      "the data key of the account's sealed contact is not in this contact key "
                      "store, so erasing here would destroy nothing: give the key store the "
                      "contact was linked with (if an earlier erasure of this account stopped "
                      "after destroying its keys, finish it in the finish-interrupted mode); "
                      "nothing was changed");
      }
    }
  }
  for (const DataKeyId& id : keys) {
    auto erased = contact_keys_->erase(id);
    if (!erased) return erased.status();
  }
  auto removed = accounts_->delete_bindings(account_id);
  if (!removed) return removed.status();
  Erasure erasure{*removed, false};
  // Asked even when this call erased no key: an earlier erasure's copies may still be there, and
  // asking is what retries their clean-up. The bindings are gone by now, so a failure to ask is
  // not an error of the erasure: it is reported as copies that may remain.
  if (contact_keys_ != nullptr) {
    auto remain = contact_keys_->erased_copies_remain();
    erasure.key_copies_remain = !remain || *remain;
  }
  return erasure;
}

Result<SecretBytes> Registry::unwrap_contact_key(const BindingRecord& binding) {
  if (contact_keys_ == nullptr) {
    return Status(ErrorCode::kInvalidConfig, "a sealed contact needs the contact key store");
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
  return internal::unwrap_data_key(**wrapped, *kek);
}

Result<SecretBytes> Registry::open_sealed(const BindingRecord& binding) {
  auto data_key = unwrap_contact_key(binding);
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
  auto bindings = accounts_->bindings_of_account(account_id);
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

}  // namespace veribind
