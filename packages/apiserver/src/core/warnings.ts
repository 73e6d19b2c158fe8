/**
 * Warnings as `Warning` response headers, as Kubernetes' warning recorder
 * writes them: `299 - "<text>"`, repeated texts once, at most 4,096
 * characters of text in all (past that, every text cut to 256 characters and
 * the rest dropped: a body with thousands of unknown fields must not make a
 * header no client can read), quoted in ASCII.
 */

const totalRunes = 4 * 1024
const itemRunes = 256

const runes = (s: string): number => {
  let n = 0
  for (const _ of s) n++
  return n
}

const firstRunes = (s: string, n: number): string => {
  let out = ""
  let i = 0
  for (const ch of s) {
    if (i++ >= n) break
    out += ch
  }
  return out
}

/** Kubernetes' recorder: which texts go out, in order, and cut to what. */
export const boundWarnings = (warnings: ReadonlyArray<string>): Array<string> => {
  const recorded: Array<string> = []
  const seen = new Set<string>()
  let out: Array<string> = []
  let written = 0
  let truncating = false
  for (const text of warnings) {
    if (truncating && written >= totalRunes) break
    if (seen.has(text)) continue
    seen.add(text)
    recorded.push(text)
    let t = text
    let length = runes(t)
    if (truncating && length > itemRunes) {
      t = firstRunes(t, itemRunes)
      length = itemRunes
    }
    if (truncating || written + length <= totalRunes) {
      written += length
      out.push(t)
      continue
    }
    // Over the limit: from here on every text is cut, the ones so far included.
    truncating = true
    written = 0
    out = recorded.map((w) => {
      const cut = runes(w) > itemRunes ? firstRunes(w, itemRunes) : w
      written += runes(cut)
      return cut
    })
  }
  return out
}

/**
 * A text quoted for a header, in ASCII: JSON's escapes, and every character
 * past ASCII as `\\uXXXX` (`\\UXXXXXXXX` past U+FFFF), which Go's
 * `strconv.Unquote` (kubectl's `ParseWarningHeader`) reads back. Node's HTTP
 * writer refuses characters past U+00FF in a header, and writes those below
 * it in whatever encoding the body takes.
 */
const quoted = (text: string): string => {
  let out = ""
  for (const ch of JSON.stringify(text)) {
    const code = ch.codePointAt(0) ?? 0
    if (code < 0x80) out += ch
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, "0")}`
    else out += `\\U${code.toString(16).padStart(8, "0")}`
  }
  return out
}

/** The `Warning` header of a response, or undefined when there is nothing to say. */
export const warningHeader = (warnings: ReadonlyArray<string>): string | undefined => {
  const texts = boundWarnings(warnings)
  return texts.length === 0 ? undefined : texts.map((t) => `299 - ${quoted(t)}`).join(", ")
}
