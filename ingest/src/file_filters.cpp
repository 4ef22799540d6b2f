#include "folio/ingest/file_filters.h"

#include "folio/ingest/text_decoder.h"

#include <array>
#include <cstdio>

namespace folio::ingest {

namespace {

std::string_view baseName(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view extension(std::string_view path) {
    const std::string_view base = baseName(path);
    const auto dot = base.rfind('.');
    return dot == std::string_view::npos || dot == 0 ? std::string_view() : base.substr(dot + 1);
}

bool endsWith(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

} // namespace

bool isLockFile(std::string_view path) {
    static constexpr std::array<std::string_view, 16> kNames = {
        "package-lock.json", "npm-shrinkwrap.json", "yarn.lock",    "pnpm-lock.yaml",
        "bun.lockb",         "Cargo.lock",          "Gemfile.lock", "poetry.lock",
        "Pipfile.lock",      "composer.lock",       "go.sum",       "flake.lock",
        "mix.lock",          "pubspec.lock",        "Podfile.lock", "packages.lock.json"};
    const std::string_view base = baseName(path);
    for (const auto name : kNames)
        if (base == name) return true;
    return false;
}

std::optional<std::string> vendoredFolder(std::string_view path) {
    static constexpr std::array<std::string_view, 10> kFolders = {
        "vendor",           "third_party", "thirdparty", "3rdparty",      "node_modules",
        "bower_components", "Pods",        ".yarn",      "site-packages", "jspm_packages"};
    std::size_t start = 0;
    while (true) {
        const auto slash = path.find('/', start);
        if (slash == std::string_view::npos) break; // the last segment is the file itself
        const std::string_view segment = path.substr(start, slash - start);
        for (const auto folder : kFolders)
            if (segment == folder) return std::string(path.substr(0, slash + 1));
        start = slash + 1;
    }
    return std::nullopt;
}

std::optional<std::string> generatedReason(std::string_view path, std::string_view head) {
    static constexpr std::array<std::string_view, 10> kSuffixes = {
        ".min.js", ".min.css", ".js.map", ".css.map",     ".pb.go",
        "_pb2.py", ".pb.cc",   ".pb.h",   ".designer.cs", ".g.dart"};
    const std::string_view base = baseName(path);
    for (const auto suffix : kSuffixes)
        if (endsWith(base, suffix)) return "generated file name (*" + std::string(suffix) + ")";
    head = head.substr(0, std::min<std::size_t>(head.size(), 1024));
    // A marker counts where a generator writes it, not where it is quoted (a file that describes
    // the rule, like this one, mentions "@generated" inside quotes).
    auto marked = [&](std::string_view marker) {
        for (auto at = head.find(marker); at != std::string_view::npos; at = head.find(marker, at + 1))
            if (at == 0 || (head[at - 1] != '"' && head[at - 1] != '\''))
                return true;
        return false;
    };
    if (marked("@generated")) return std::string("\"@generated\" marker");
    if (marked("DO NOT EDIT")) return std::string("\"DO NOT EDIT\" marker");
    return std::nullopt;
}

bool isLfsPointer(std::string_view bytes) {
    return bytes.size() < 1024 && bytes.rfind("version https://git-lfs.github.com/spec/", 0) == 0 &&
           bytes.find("\noid sha256:") != std::string_view::npos;
}

std::string languageForPath(std::string_view path) {
    struct Entry {
        std::string_view ext, lang;
    };
    static constexpr std::array<Entry, 52> kTable = {{
        {"c", "c"},
        {"h", "c"},
        {"cc", "cpp"},
        {"cpp", "cpp"},
        {"cxx", "cpp"},
        {"hpp", "cpp"},
        {"hh", "cpp"},
        {"hxx", "cpp"},
        {"ipp", "cpp"},
        {"cu", "cuda"},
        {"cuh", "cuda"},
        {"py", "python"},
        {"rs", "rust"},
        {"go", "go"},
        {"java", "java"},
        {"kt", "kotlin"},
        {"js", "javascript"},
        {"mjs", "javascript"},
        {"ts", "typescript"},
        {"tsx", "typescript"},
        {"jsx", "javascript"},
        {"rb", "ruby"},
        {"php", "php"},
        {"cs", "csharp"},
        {"swift", "swift"},
        {"m", "objc"},
        {"mm", "objcpp"},
        {"sh", "shell"},
        {"bash", "shell"},
        {"zsh", "shell"},
        {"cmake", "cmake"},
        {"S", "asm"},
        {"s", "asm"},
        {"asm", "asm"},
        {"md", "markdown"},
        {"markdown", "markdown"},
        {"rst", "rst"},
        {"txt", "text"},
        {"json", "json"},
        {"yaml", "yaml"},
        {"yml", "yaml"},
        {"toml", "toml"},
        {"xml", "xml"},
        {"html", "html"},
        {"css", "css"},
        {"sql", "sql"},
        {"srt", "srt"},
        {"vtt", "webvtt"},
        {"dts", "devicetree"},
        {"dtsi", "devicetree"},
        {"lua", "lua"},
        {"pl", "perl"},
    }};
    const std::string_view base = baseName(path);
    if (base == "CMakeLists.txt") return "cmake";
    if (base == "Makefile" || base == "Kbuild" || base.rfind("Makefile.", 0) == 0) return "make";
    if (base == "Kconfig" || base.rfind("Kconfig.", 0) == 0) return "kconfig";
    if (base == "Dockerfile") return "dockerfile";
    const std::string_view ext = extension(path);
    for (const auto& e : kTable)
        if (ext == e.ext) return std::string(e.lang);
    for (const auto& e : kTable)
        if (iequals(ext, e.ext)) return std::string(e.lang);
    return ext.empty() ? "text" : std::string(ext);
}

bool isProsePath(std::string_view path) {
    const std::string_view ext = extension(path);
    if (iequals(ext, "md") || iequals(ext, "markdown") || iequals(ext, "txt") ||
        iequals(ext, "rst") || iequals(ext, "adoc") || iequals(ext, "org"))
        return baseName(path) != "CMakeLists.txt";
    const std::string_view base = baseName(path);
    return base == "README" || base == "COPYING" || base == "LICENSE" || base == "NEWS";
}

std::optional<SkippedFile> screenFile(std::string_view path, std::string_view bytes,
                                      std::uint64_t size, std::uint64_t maxFileBytes) {
    auto skip = [&](SkipReason reason, std::string detail) {
        return std::optional<SkippedFile>(
            SkippedFile{std::string(path), reason, std::move(detail)});
    };
    if (isLockFile(path)) return skip(SkipReason::LockFile, "package-manager lock file");
    if (auto folder = vendoredFolder(path))
        return skip(SkipReason::Vendored, "inside vendored tree " + *folder);
    if (isLfsPointer(bytes))
        return skip(SkipReason::LfsPointer, "Git LFS pointer; the object is not in the repository");
    if (size == 0) return skip(SkipReason::Empty, "empty file");
    if (looksBinary(bytes))
        return skip(SkipReason::Binary, "binary content (NUL or control bytes in the first 8 KB)");
    if (auto why = generatedReason(path, bytes)) return skip(SkipReason::Generated, *why);
    if (size > maxFileBytes)
        return skip(SkipReason::TooLarge,
                    formatBytes(size) + " > " + formatBytes(maxFileBytes) + " cap");
    return std::nullopt;
}

std::string formatBytes(std::uint64_t bytes) {
    char buf[32];
    if (bytes < 1024) {
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    } else if (bytes < 1024ULL * 1024) {
        std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
    } else if (bytes < 1024ULL * 1024 * 1024) {
        std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    } else {
        std::snprintf(buf, sizeof buf, "%.1f GiB",
                      static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
    }
    return buf;
}

} // namespace folio::ingest
