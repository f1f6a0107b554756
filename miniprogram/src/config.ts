// The AppID and the server: set them in ../yunyin.json (the one place); scripts/build.mjs fills
// in the placeholders below. Tests point `apiBase` at the server they started.
export const config = {
  /** The mini-program's AppID (wx…), as registered with WeChat. */
  appId: '__APP_ID__',
  /** The yunyin server, e.g. https://print.example.com (a legal request domain in WeChat's console). */
  apiBase: '__API_BASE__',
}
