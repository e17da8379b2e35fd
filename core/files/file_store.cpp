#include "core/files/file_store.hpp"

namespace happy::files {

bool valid_key(std::string_view key) {
    if (key.empty() || key.front() == '/' || key.back() == '/') {
        return false;
    }
    std::size_t start = 0;
    while (start <= key.size()) {
        std::size_t end = key.find('/', start);
        if (end == std::string_view::npos) {
            end = key.size();
        }
        std::string_view seg = key.substr(start, end - start);
        if (seg.empty() || seg == "." || seg == "..") {
            return false;
        }
        start = end + 1;
    }
    // Backslash is no separator on POSIX, but it is on the hosts some S3 tools sync to; NUL ends a C path.
    return key.find('\\') == std::string_view::npos && key.find('\0') == std::string_view::npos;
}

}  // namespace happy::files
