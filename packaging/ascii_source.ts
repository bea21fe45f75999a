/**
 * Makes a bundle's JavaScript pure ASCII. V8 keeps a script's source for
 * the life of the process, and it keeps it two bytes per character as soon
 * as one character is outside Latin-1: the agent's bundle, 1.4 MB, held a 2.8
 * MB copy because of nine characters (arrows in comments, a `µ` in a
 * dependency's regular expression). Each character above U+007F becomes its
 * `\uXXXX` escape (an astral one, its two surrogates), which means the same
 * character in a string, a template, a regular expression or an identifier,
 * and is inert in a comment. Only a tagged template's raw text would see the
 * escape instead of the character; the bundle has none with such characters.
 *
 * @module
 */

/** `js` with every UTF-16 code unit above 0x7F written as `\uXXXX`. */
export function asciiSource(js: string): string {
  return js.replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
