// A tiny synthetic DeepSeek-V4 checkpoint written once per test binary into a temporary folder.
#pragma once

#include "folio/engine.h"
#include "model_io/config.h"
#include "model_io/safetensors.h"
#include "model_io/synthetic.h"

#include <QTemporaryDir>
#include <QtTest>
#include <random>

namespace folio::test {

struct TinyModel {
    QTemporaryDir dir;
    std::unique_ptr<Model> model;
    model::ModelConfig cfg;
    std::unique_ptr<model::Checkpoint> checkpoint;

    // Empty on success, else the reason.
    QString create(std::uint64_t seed = 1) {
        if (!dir.isValid()) return "no temporary directory";
        model::SyntheticOptions o;
        o.preset = model::SyntheticPreset::Tiny;
        o.seed = seed;
        const std::string path = dir.path().toStdString();
        if (auto st = model::makeSyntheticModel(o, path); !st.ok()) return QString::fromStdString(st.error());
        auto c = model::loadConfig(path + "/config.json");
        if (!c.ok()) return QString::fromStdString(c.error());
        cfg = c.value();
        auto ck = model::Checkpoint::open(path);
        if (!ck.ok()) return QString::fromStdString(ck.error());
        checkpoint = std::move(ck.value());
        auto m = Model::open(path, ModelOptions{2, "cpu"});
        if (!m.ok()) return QString::fromStdString(m.error());
        model = std::move(m.value());
        return {};
    }

    std::string path() const { return dir.path().toStdString(); }
};

// Deterministic token ids in [2, vocab): any row of the embedding, special or not.
inline std::vector<std::int32_t> randomTokens(std::size_t n, int vocab, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(2, vocab - 1);
    std::vector<std::int32_t> t(n);
    for (auto& v : t) v = d(rng);
    return t;
}

} // namespace folio::test
