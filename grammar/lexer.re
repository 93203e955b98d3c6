/*
 * lexer.re - the query language tokenizer (re2c).
 *
 * The whole text is scanned at once into an array of tokens (offset and
 * length into the source; values are converted by the parser, which knows
 * what it expects).  The source copy ends with a NUL sentinel, so the
 * scanner needs no fill logic; a NUL inside the text is reported as a bad
 * character.
 *
 * Newlines are significant (one condition per line) except where SPEC
 * section 3 says a line continues: after `,`, `->` and `OR`, and inside
 * ( ) or [ ].  Those newlines are dropped here, together with blank lines,
 * so the parser only sees the newlines that end something.  An unclosed
 * bracket must not swallow the rest of the file, so braces reset the
 * bracket depth.
 *
 * Names are letters, digits, `_` and inner `-` (`f-mDNS`, `met-by`); a
 * `-` must be followed by a name character, so `->` always ends a name
 * (`M->U`).  Keywords are not recognised here: relation words such as `s`
 * or `d` are keywords only in merger lines, so the parser decides.
 */
#include <string.h>

#include "fq_error.h"
#include "internal.h"

/*!re2c
	re2c:define:YYCTYPE = "unsigned char";
	re2c:yyfill:enable = 0;
	re2c:flags:tags = 0;
*/

/*
 * Whether a newline after the nt tokens v[] continues the line (SPEC
 * section 3): inside ( ) or [ ], after `,` `->` `OR`, and blank lines.
 */
static int
line_continues(const struct fq__ctx *c, const struct fq__token *v, size_t nt,
	       int depth)
{
	if (depth > 0 || nt == 0)
		return 1;
	const struct fq__token *pt = &v[nt - 1];
	if (pt->kind == FQ_TK_NL || pt->kind == FQ_TK_COMMA ||
	    pt->kind == FQ_TK_ARROW)
		return 1;
	return pt->kind == FQ_TK_NAME &&
	       (fq__streq(c->src + pt->off, pt->len, "OR") ||
		fq__streq(c->src + pt->off, pt->len, "or"));
}

static void
bad_char(struct fq__ctx *c, uint32_t off, unsigned ch)
{
	if (ch >= 0x20 && ch < 0x7f)
		fq__error(c, off, 1, NULL, "unexpected character '%c'", ch);
	else
		fq__error(c, off, 1, NULL, "unexpected character 0x%02x", ch);
}

int
fq__lex(struct fq__ctx *c, struct fq__token **out, size_t *n)
{
	/* Every token is at least one byte long: len + 1 bounds the count. */
	struct fq__token *v = fq__alloc(c, (c->len + 2) * sizeof(*v));
	if (v == NULL)
		return -FQ_ENOMEM;
	size_t nt = 0;
	const unsigned char *base = (const unsigned char *)c->src;
	const unsigned char *end = base + c->len;
	const unsigned char *YYCURSOR = base, *YYMARKER = base, *tok;
	int depth = 0;

#define PUSH(k) do { \
		v[nt].kind = (k); \
		v[nt].off = (uint32_t)(tok - base); \
		v[nt].len = (uint32_t)(YYCURSOR - tok); \
		nt++; \
	} while (0)

	for (;;) {
		tok = YYCURSOR;
		/*!re2c
		dec = [0-9]+;
		hex = "0" [xX] [0-9a-fA-F]+;
		oct = [0-9]{1,3};
		ipv4 = oct "." oct "." oct "." oct;
		ipv6 = [0-9a-fA-F]* ":" [0-9a-fA-F:]* ("." [0-9]+)*;
		namec = [A-Za-z0-9_];
		name = [A-Za-z_] namec* ("-" namec+)*;

		"\x00" {
			if (tok >= end)
				break;
			fq__error(c, (uint32_t)(tok - base), 1, NULL,
				  "unexpected NUL character");
			continue;
		}
		[ \t\r\v\f]+ { continue; }
		"#" [^\n\x00]* { continue; }
		"\n" {
			if (!line_continues(c, v, nt, depth))
				PUSH(FQ_TK_NL);
			continue;
		}
		name { PUSH(FQ_TK_NAME); continue; }
		hex | dec { PUSH(FQ_TK_NUM); continue; }
		(ipv4 | ipv6) ("/" dec)? { PUSH(FQ_TK_IP); continue; }
		["] [^"\n\x00]* ["] { PUSH(FQ_TK_STR); continue; }
		["] [^"\n\x00]* {
			fq__error(c, (uint32_t)(tok - base), 1, NULL,
				  "missing terminating '\"' character");
			continue;
		}
		"{" { depth = 0; PUSH(FQ_TK_LBRACE); continue; }
		"}" { depth = 0; PUSH(FQ_TK_RBRACE); continue; }
		"(" { depth++; PUSH(FQ_TK_LPAREN); continue; }
		")" { if (depth > 0) depth--; PUSH(FQ_TK_RPAREN); continue; }
		"[" { depth++; PUSH(FQ_TK_LBRACK); continue; }
		"]" { if (depth > 0) depth--; PUSH(FQ_TK_RBRACK); continue; }
		"," { PUSH(FQ_TK_COMMA); continue; }
		".." { PUSH(FQ_TK_DOTDOT); continue; }
		"." { PUSH(FQ_TK_DOT); continue; }
		"->" { PUSH(FQ_TK_ARROW); continue; }
		"!=" { PUSH(FQ_TK_NE); continue; }
		"<=" { PUSH(FQ_TK_LE); continue; }
		">=" { PUSH(FQ_TK_GE); continue; }
		"=" { PUSH(FQ_TK_EQ); continue; }
		"<" { PUSH(FQ_TK_LT); continue; }
		">" { PUSH(FQ_TK_GT); continue; }
		[\x80-\xff]+ {
			fq__error(c, (uint32_t)(tok - base),
				  (uint32_t)(YYCURSOR - tok), NULL,
				  "unexpected non-ASCII character");
			continue;
		}
		* {
			bad_char(c, (uint32_t)(tok - base), *tok);
			continue;
		}
		*/
	}
#undef PUSH
	/* The last line ends the file even without a newline. */
	if (nt > 0 && v[nt - 1].kind != FQ_TK_NL) {
		v[nt].kind = FQ_TK_NL;
		v[nt].off = (uint32_t)c->len;
		v[nt].len = 0;
		nt++;
	}
	v[nt].kind = FQ_TK_EOF;
	v[nt].off = (uint32_t)c->len;
	v[nt].len = 0;
	nt++;
	*out = v;
	*n = nt;
	return 0;
}
