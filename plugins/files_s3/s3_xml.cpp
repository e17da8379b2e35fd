#include "plugins/files_s3/s3_xml.hpp"

#include <cstdint>

#include "core/util/utf8.hpp"

namespace happy::plugin::files_s3::xml {

namespace {

std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '&') {
            out.push_back(s[i]);
            continue;
        }
        auto semi = s.find(';', i);
        if (semi == std::string_view::npos || semi - i > 10) {
            out.push_back('&');
            continue;
        }
        std::string_view ent = s.substr(i + 1, semi - i - 1);
        std::string rep;
        if (ent == "amp") {
            rep = "&";
        } else if (ent == "lt") {
            rep = "<";
        } else if (ent == "gt") {
            rep = ">";
        } else if (ent == "quot") {
            rep = "\"";
        } else if (ent == "apos") {
            rep = "'";
        } else if (ent.size() > 1 && ent[0] == '#') {
            bool hex = ent[1] == 'x' || ent[1] == 'X';
            std::uint32_t cp = 0;
            bool ok = ent.size() > (hex ? 2u : 1u);
            for (char ch : ent.substr(hex ? 2 : 1)) {
                int d = (ch >= '0' && ch <= '9')               ? ch - '0'
                        : hex && (ch >= 'a' && ch <= 'f')       ? ch - 'a' + 10
                        : hex && (ch >= 'A' && ch <= 'F')       ? ch - 'A' + 10
                                                                : -1;
                if (d < 0 || cp > 0x10FFFF) {
                    ok = false;
                    break;
                }
                cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
            }
            if (!ok || cp > 0x10FFFF) {
                out.push_back('&');
                continue;
            }
            util::append_utf8(rep, cp);
        } else {
            out.push_back('&');
            continue;
        }
        out += rep;
        i = semi;
    }
    return out;
}

/// Position just after the next start tag `<tag` + (`>`, whitespace or `/`) at or after `from`; sets `empty`
/// for `<tag/>`. npos when there is none.
std::size_t next_open(std::string_view doc, std::string_view tag, std::size_t from, bool& empty) {
    while (true) {
        auto lt = doc.find('<', from);
        if (lt == std::string_view::npos) {
            return lt;
        }
        from = lt + 1;
        if (doc.substr(lt + 1, tag.size()) != tag || lt + 1 + tag.size() >= doc.size()) {
            continue;
        }
        char after = doc[lt + 1 + tag.size()];
        if (after != '>' && after != '/' && after != ' ' && after != '\t' && after != '\r' && after != '\n') {
            continue;
        }
        auto gt = doc.find('>', lt);
        if (gt == std::string_view::npos) {
            return gt;
        }
        empty = doc[gt - 1] == '/';
        return gt + 1;
    }
}

}  // namespace

std::vector<std::string> texts(std::string_view doc, std::string_view tag) {
    std::vector<std::string> out;
    std::string close = "</" + std::string(tag) + ">";
    std::size_t pos = 0;
    bool empty = false;
    while ((pos = next_open(doc, tag, pos, empty)) != std::string_view::npos) {
        if (empty) {
            out.emplace_back();
            continue;
        }
        auto end = doc.find(close, pos);
        if (end == std::string_view::npos) {
            break;
        }
        out.push_back(unescape(doc.substr(pos, end - pos)));
        pos = end + close.size();
    }
    return out;
}

std::string text(std::string_view doc, std::string_view tag) {
    auto all = texts(doc, tag);
    return all.empty() ? std::string() : std::move(all.front());
}

std::size_t count(std::string_view doc, std::string_view tag) {
    std::size_t n = 0, pos = 0;
    bool empty = false;
    while ((pos = next_open(doc, tag, pos, empty)) != std::string_view::npos) {
        ++n;
    }
    return n;
}

std::string escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        switch (ch) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out.push_back(ch);
        }
    }
    return out;
}

}  // namespace happy::plugin::files_s3::xml
