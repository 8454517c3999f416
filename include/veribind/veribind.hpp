// Everything in the core library, for convenience (the policy report, veribind/compare.hpp, is
// its own target: veribind::compare).
#pragma once

#include "veribind/audit.hpp"
#include "veribind/blind_index.hpp"
#include "veribind/challenge_id.hpp"
#include "veribind/channel.hpp"
#include "veribind/clock.hpp"
#include "veribind/contact_key_store.hpp"
#include "veribind/identifier.hpp"
#include "veribind/keys.hpp"
#include "veribind/policy.hpp"
#include "veribind/purpose.hpp"
#include "veribind/registry.hpp"
#include "veribind/result.hpp"
#include "veribind/secret.hpp"
#include "veribind/sender.hpp"
#include "veribind/store.hpp"
#include "veribind/verifier.hpp"
