#include "porter_stemmer.h"

#include <string_view>

namespace folio::ingest {

namespace {

// The algorithm's terms: a consonant is a letter other than a, e, i, o, u, and other than y
// after a consonant; m is the number of vowel-consonant sequences in the stem, [C](VC)^m[V].
class Stem {
public:
    explicit Stem(std::string& w) : w_(w) {}

    bool consonant(std::size_t i) const {
        // A 'y' is a consonant at the start and after a vowel, a vowel after a consonant: walk
        // back over a run of 'y's (which alternate) instead of recursing.
        std::size_t ys = 0;
        while (i >= ys + 1 && w_[i - ys] == 'y') ++ys;
        if (w_[i - ys] != 'y') { // w_[i - ys] ends the run: a plain letter before ys 'y's
            if (ys == 0) return plain(w_[i]);
            // The first 'y' after it is the opposite of it, and each next one flips again.
            const bool firstY = !plain(w_[i - ys]);
            return (ys % 2 == 1) ? firstY : !firstY;
        }
        // All of w_[0..i] are 'y': the first is a consonant, then they alternate.
        return (i % 2) == 0;
    }
    static bool plain(char c) { return c != 'a' && c != 'e' && c != 'i' && c != 'o' && c != 'u'; }
    // m of w_[0, end).
    int measure(std::size_t end) const {
        int m = 0;
        std::size_t i = 0;
        while (i < end && consonant(i)) ++i;
        while (i < end) {
            while (i < end && !consonant(i)) ++i;
            if (i >= end) break;
            while (i < end && consonant(i)) ++i;
            ++m;
        }
        return m;
    }
    bool hasVowel(std::size_t end) const {
        for (std::size_t i = 0; i < end; ++i)
            if (!consonant(i)) return true;
        return false;
    }
    bool doubleConsonant(std::size_t end) const { // w_[end-2] == w_[end-1], both consonants
        return end >= 2 && w_[end - 1] == w_[end - 2] && consonant(end - 1);
    }
    // *o: the stem ends cvc, the second c not w, x or y.
    bool cvc(std::size_t end) const {
        if (end < 3 || !consonant(end - 1) || consonant(end - 2) || !consonant(end - 3)) return false;
        const char c = w_[end - 1];
        return c != 'w' && c != 'x' && c != 'y';
    }
    bool ends(std::string_view s) const {
        return w_.size() >= s.size() && std::string_view(w_).substr(w_.size() - s.size()) == s;
    }
    std::size_t stemEnd(std::string_view suffix) const { return w_.size() - suffix.size(); }
    void replace(std::string_view suffix, std::string_view with) {
        w_.replace(stemEnd(suffix), suffix.size(), with);
    }
    // Replaces `suffix` by `with` when the stem before it has m > min; true when it matched the
    // suffix at all (whether or not replaced), so rule lists stop at the first suffix found.
    bool rule(std::string_view suffix, std::string_view with, int min) {
        if (!ends(suffix)) return false;
        if (measure(stemEnd(suffix)) > min) replace(suffix, with);
        return true;
    }

    void step1a() {
        if (ends("sses")) replace("sses", "ss");
        else if (ends("ies")) replace("ies", "i");
        else if (ends("ss")) {
        } else if (ends("s")) w_.pop_back();
    }
    void step1b() {
        if (ends("eed")) {
            if (measure(stemEnd("eed")) > 0) w_.pop_back();
            return;
        }
        std::string_view suffix;
        if (ends("ed")) suffix = "ed";
        else if (ends("ing")) suffix = "ing";
        else return;
        if (!hasVowel(stemEnd(suffix))) return;
        w_.resize(stemEnd(suffix));
        if (ends("at") || ends("bl") || ends("iz")) w_.push_back('e');
        else if (doubleConsonant(w_.size()) && !ends("l") && !ends("s") && !ends("z")) w_.pop_back();
        else if (measure(w_.size()) == 1 && cvc(w_.size())) w_.push_back('e');
    }
    void step1c() {
        if (ends("y") && hasVowel(w_.size() - 1)) w_.back() = 'i';
    }
    void step2() {
        static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
            {"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"},  {"anci", "ance"},
            {"izer", "ize"},    {"abli", "able"},   {"alli", "al"},    {"entli", "ent"},
            {"eli", "e"},       {"ousli", "ous"},   {"ization", "ize"}, {"ation", "ate"},
            {"ator", "ate"},    {"alism", "al"},    {"iveness", "ive"}, {"fulness", "ful"},
            {"ousness", "ous"}, {"aliti", "al"},    {"iviti", "ive"},  {"biliti", "ble"}};
        for (const auto& [s, r] : kRules)
            if (rule(s, r, 0)) return;
    }
    void step3() {
        static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
            {"icate", "ic"}, {"ative", ""}, {"alize", "al"}, {"iciti", "ic"},
            {"ical", "ic"},  {"ful", ""},   {"ness", ""}};
        for (const auto& [s, r] : kRules)
            if (rule(s, r, 0)) return;
    }
    void step4() {
        static constexpr std::string_view kSuffixes[] = {
            "al",  "ance", "ence", "er",  "ic",  "able", "ible", "ant", "ement", "ment",
            "ent", "ion",  "ou",   "ism", "ate", "iti",  "ous",  "ive", "ize"};
        // Longest first where one suffix ends another ("ement" before "ment" before "ent").
        for (const std::string_view s : kSuffixes) {
            if (!ends(s)) continue;
            if (s == "ment" && ends("ement")) continue;
            if (s == "ent" && (ends("ment"))) continue;
            const std::size_t end = stemEnd(s);
            if (s == "ion" && !(end > 0 && (w_[end - 1] == 's' || w_[end - 1] == 't'))) return;
            if (measure(end) > 1) w_.resize(end);
            return;
        }
    }
    void step5() {
        if (ends("e")) {
            const std::size_t end = w_.size() - 1;
            const int m = measure(end);
            if (m > 1 || (m == 1 && !cvc(end))) w_.pop_back();
        }
        if (ends("ll") && measure(w_.size()) > 1) w_.pop_back();
    }

private:
    std::string& w_;
};

} // namespace

void porterStem(std::string& word) {
    if (word.size() <= 2) return;
    for (const char c : word)
        if (c < 'a' || c > 'z') return;
    Stem s(word);
    s.step1a();
    s.step1b();
    s.step1c();
    s.step2();
    s.step3();
    s.step4();
    s.step5();
}

} // namespace folio::ingest
