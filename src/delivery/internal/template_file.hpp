// The locale file's syntax (templates.hpp documents it): lines of `key = value`. Meaning
// (which keys exist, placeholders) is checked by the Templates loader, so that the built-in
// templates go through the same checks as files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "veribind/result.hpp"

namespace veribind::internal {

struct TemplateEntry {
  std::string key;
  std::string value;  // escapes resolved
  int line = 0;       // 1-based, for error messages
};

// kConfigFileInvalid ("line 3: ...") for a line that is not blank, a comment or `key = value`,
// a bad escape, a key given twice, or a value that is not valid UTF-8.
Result<std::vector<TemplateEntry>> parse_template_file(std::string_view content);

}  // namespace veribind::internal
