// The templates veribind ships: English and Urdu, for every channel and purpose. They are given
// as locale-file entries so that they pass the same checks as an operator's files.
#pragma once

#include <vector>

#include "delivery/internal/template_file.hpp"

namespace veribind::internal {

// One entry list per built-in locale, each with its "locale" entry.
std::vector<std::vector<TemplateEntry>> builtin_locales();

}  // namespace veribind::internal
