// The sequence state of one DeepSeek-V4 sequence (deepseek-v4.md sections 5-6): per layer the
// window ring, the compressed entries and the compressor's carried rows; for CSA layers also the
// indexer's compressed entries and rows. Everything a continuation needs is here, so a snapshot of
// this struct restores a prefix exactly.
#pragma once

#include "model_io/config.h"

#include <cstdint>
#include <vector>

namespace folio::model {

struct CompressorState {
    int ratio = 0;
    int dim = 0;  // entry width d
    int width = 0; // coff * d: width of the carried a/g rows
    // Rows of the current (incomplete) block: (pos % ratio) of them are valid. [ratio, width]
    std::vector<float> curA, curG;
    // Rows of the previous complete block (ratio 4 overlap only). [ratio, width]
    std::vector<float> prevA, prevG;
    // Compressed entries, one per complete block. [count, dim]
    std::vector<float> entries;
    std::int64_t count() const { return dim ? std::int64_t(entries.size()) / dim : 0; }
};

struct LayerState {
    int ratio = 0;
    std::vector<float> window; // [slidingWindow, headDim], slot = pos % slidingWindow
    CompressorState compressor; // ratio > 0
    CompressorState indexer;    // ratio == 4
};

struct SequenceState {
    std::int64_t pos = 0; // tokens consumed so far
    std::vector<LayerState> layers;
    std::vector<LayerState> mtp; // the MTP blocks' window rings (window-only layers)
};

// An empty state shaped for `cfg`: the main layers and the MTP blocks.
SequenceState makeSequenceState(const ModelConfig& cfg);

} // namespace folio::model
