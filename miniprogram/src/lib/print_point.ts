// What a print point's QR code says: its URL `…/p/{code}` (printed on the sticker), or the code.

/** The print point code in a scanned text, or `undefined` when it is not ours. */
export function printPointCode(text: string): string | undefined {
  const t = decodeURIComponent(text.trim())
  const m = t.match(/\/p\/([A-Za-z0-9]+)\/?(?:[?#].*)?$/) ?? t.match(/^([A-Za-z0-9]{8,64})$/)
  return m ? m[1] : undefined
}
