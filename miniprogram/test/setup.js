// Runs before each test file: a fresh `wx` (storage, script and record are per file) and the
// built config pointed at the server under test.
const { wx } = require('./wx')
global.wx = wx
