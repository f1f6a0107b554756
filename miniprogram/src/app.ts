// The mini-program. Pages are built with the Component constructor (so they can be tested with
// miniprogram-simulate) and keep shared state in lib/, not in the App instance.
App({})
