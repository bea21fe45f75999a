/**
 * The simple commands of a `/bin/sh -c` command line, as far as a crontab
 * job's programs need them: each command's words with their quotes and
 * escapes removed, commands split at `;`, `&`, `|` (so `&&` and `||`),
 * newlines, `(`, `)`, a backquote and `$(`; redirections (`>/dev/null`,
 * `2>&1`, `< in`) and their targets dropped; a `#` that starts a word
 * comments out the rest of its line. Not a shell: nothing is expanded (a
 * word with `$` is kept as written), a here-document's body is read as
 * commands. One pass over the line, linear in its length.
 *
 * @module
 */

/** What a character does between words. */
const BLANK = new Set([" ", "\t"]);
const COMMAND_END = new Set(["\n", ";", "&", "|", "(", ")", "`"]);

/** Splits `line` into simple commands, each a list of words (see the module's doc). */
export function simpleCommands(line: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  /** The word being read; null between words. */
  let word: string | null = null;
  /** The next word is a redirection's target. */
  let target = false;
  const endWord = () => {
    if (word !== null) {
      if (target) target = false;
      else words.push(word);
    }
    word = null;
  };
  const endCommand = () => {
    endWord();
    target = false;
    if (words.length > 0) commands.push(words);
    words = [];
  };
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (BLANK.has(c)) {
      endWord();
      i++;
    } else if (COMMAND_END.has(c)) {
      endCommand();
      i++;
    } else if (c === "$" && line[i + 1] === "(") {
      endCommand();
      i += 2;
    } else if (c === "<" || c === ">") {
      // `2>&1`: the digits before the operator are its file descriptor, not a word.
      if (word !== null && /^\d+$/.test(word)) word = null;
      endWord();
      i++;
      while (i < line.length && "<>&|-".includes(line[i])) i++;
      target = true;
    } else if (c === "#" && word === null) {
      while (i < line.length && line[i] !== "\n") i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      const stop = end < 0 ? line.length : end;
      word = (word ?? "") + line.slice(i + 1, stop);
      i = stop + 1;
    } else if (c === '"') {
      let text = "";
      i++;
      while (i < line.length && line[i] !== '"') {
        // Inside double quotes a backslash escapes only `$`, `` ` ``, `"`, `\` and a newline.
        if (line[i] === "\\" && i + 1 < line.length && '$`"\\\n'.includes(line[i + 1])) {
          if (line[i + 1] !== "\n") text += line[i + 1];
          i += 2;
        } else {
          text += line[i++];
        }
      }
      word = (word ?? "") + text;
      i++;
    } else if (c === "\\") {
      // A backslash before a newline joins the lines; before anything else it quotes it.
      if (i + 1 < line.length && line[i + 1] !== "\n") word = (word ?? "") + line[i + 1];
      i += 2;
    } else {
      let j = i + 1;
      while (j < line.length && !/[\s;&|()`$<>'"\\]/.test(line[j])) j++;
      word = (word ?? "") + line.slice(i, j);
      i = j;
    }
  }
  endCommand();
  return commands;
}
