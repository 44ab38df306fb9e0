/**
 * Which of ffmpeg's stderr lines says why it failed: ffmpeg ends with its own noise ("Conversion
 * failed!", "Error opening output files") while the cause (a refused connection, a 401 at the ingest,
 * an unknown host) sits a few lines earlier. Pure: the lines come in redacted and go out as they are,
 * less ffmpeg's "[tcp @ 0x55d5…] " context prefix.
 */

/** Kinds of cause, most telling first: a refused connection says more than the I/O error after it. */
const CAUSES: RegExp[] = [
  /Failed to resolve hostname|Name or service not known|Temporary failure in name resolution|No address associated with hostname|nodename nor servname/i,
  // A TLS server that is not who it claims (GnuTLS's wording, then OpenSSL's).
  /Peer certificate failed verification|certificate's owner does not match hostname|certificate verify failed/i,
  /Connection refused/i,
  /\b40[13]\b|Unauthorized|Forbidden|authorization failed|access denied/i,
  /Server returned [45]\w\w|method (?!TEARDOWN)\w+ failed: [45]\d\d|HTTP error [45]\d\d|Server error:/i,
  /Connection timed out|Operation timed out|Network is unreachable|No route to host/i,
  /Invalid data found when processing input/i,
  /No such file or directory/i,
  /Permission denied/i,
  /Input\/output error|I\/O error|Broken pipe|Connection reset by peer|Error in the pull function|End of file/i,
];

/** ffmpeg's "[component @ 0xaddress] " before a library's message. */
const CONTEXT = /^\[[^\]@]+ @ (?:0x)?[0-9a-f]+\]\s*/i;

/** A line that starts with what ffmpeg opened: "rtmp://…: …" or "/path: …". */
const NAMES_URL = /^(?:[a-z][a-z0-9+.-]*:\/\/|\/)\S*:\s/i;

/**
 * The stderr line that explains a failure, or null when none does. Of the lines of the most telling
 * kind present, the last one that names what was opened (ffmpeg ends an open with "rtmp://…: Connection
 * refused" after "[tcp @ …] Connection to tcp://…:1935 failed: Connection refused"), else the last.
 */
export function failureReason(stderr: readonly string[]): string | null {
  const lines = stderr.map((l) => l.trim().replace(CONTEXT, "")).filter((l) => l !== "");
  for (const cause of CAUSES) {
    const matching = lines.filter((l) => cause.test(l));
    if (matching.length === 0) continue;
    return [...matching].reverse().find((l) => NAMES_URL.test(l)) ?? matching[matching.length - 1];
  }
  return null;
}
