// Page tests: miniprogram-simulate renders the built pages (dist/) in jsdom; test/wx.js is the
// `wx` object, whose network calls reach the real server the Rust test started.
module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/test/**/*.test.js'],
  setupFiles: ['<rootDir>/test/setup.js'],
  testTimeout: 60000,
}
