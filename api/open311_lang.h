/* open311_lang.h - the language of an Open311 answer: the `locale`
 * parameter (GeoReport v2) and Accept-Language (RFC 9110 §12.5.4), the
 * Chinese text of mapd's Open311 error messages, and the halves of
 * bilingual texts ("塌陷面积 Size of the collapse").
 *
 * Languages: zh and en. No locale and no Accept-Language (or only
 * languages mapd does not have, or "*"): MD_O311_DEFAULT, the answer as it
 * always was (Chinese names with English descriptions, English errors).
 * Pure functions, no I/O: unit-testable.
 */
#ifndef MD_OPEN311_LANG_H
#define MD_OPEN311_LANG_H

#include "md_err.h"
#include <stdbool.h>
#include <stddef.h>

enum md_o311_lang { MD_O311_DEFAULT, MD_O311_ZH, MD_O311_EN };

/* A `locale` value: a language tag (letters, then subtags of letters and
 * digits joined by '-' or '_', e.g. "zh", "en-US", "zh_CN", at most 35
 * characters). zh* → MD_O311_ZH, en* → MD_O311_EN, any other well-formed
 * tag → MD_O311_DEFAULT. Malformed: MD_EINVAL with a message in ctx. */
md_err md_o311_locale(const char *tag, enum md_o311_lang *out, struct md_ctx *ctx) MD_WUR;

/* An Accept-Language header: the supported language of the highest
 * q-value (the first listed on a tie; q=0 is "not acceptable"),
 * MD_O311_DEFAULT when none is listed. Malformed (a range that is not a
 * tag or "*", a bad q-value, more than 32 entries): MD_EINVAL. */
md_err md_o311_accept_language(const char *header, enum md_o311_lang *out,
                               struct md_ctx *ctx) MD_WUR;

/* The Chinese text of an English error message of mapd's Open311 paths,
 * written to out (at most outsz bytes, NUL-terminated, truncated at a
 * character boundary); false (out untouched) when there is none, and
 * the caller keeps the English text. */
bool md_o311_translate_zh(const char *en, char *out, size_t outsz);

/* The `lang` half of a bilingual "中文 English" text: the split is at the
 * first space after the last Chinese character. A text without both halves
 * and MD_O311_DEFAULT give the text as it is. Written to out (truncated
 * at a character boundary). */
void md_o311_half(const char *text, enum md_o311_lang lang, char *out, size_t outsz);

/* "zh" or "en" (the Content-Language of an answer in that language);
 * "zh, en" for MD_O311_DEFAULT (Chinese names, English descriptions). */
const char *md_o311_lang_tag(enum md_o311_lang lang);

#endif
