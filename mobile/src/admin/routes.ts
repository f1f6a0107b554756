// The console's routes, under /m/admin/, added to the app's router on the console's first
// visit (router.ts). Every page is its own lazily loaded chunk. `meta.console` pages need a
// signed-in admin who has set their own password.
import type { Router, RouteRecordRaw } from 'vue-router'
import { adminSession, adminSignedIn } from './session'

const page = (meta: Record<string, unknown> = { console: true }) => ({ meta })

const consoleRoutes: RouteRecordRaw[] = [
  { path: 'signin', component: () => import('./pages/SignInPage.vue'), ...page({}) },
  { path: 'password', component: () => import('./pages/PasswordPage.vue'), ...page({ signedIn: true }) },
  { path: '', component: () => import('./pages/DashboardPage.vue'), ...page() },
  { path: 'org', component: () => import('./pages/OrganisationPage.vue'), ...page() },
  { path: 'providers/:id', component: () => import('./pages/ProviderPage.vue'), ...page() },
  { path: 'enterprises/:id', component: () => import('./pages/EnterprisePage.vue'), ...page() },
  { path: 'admins', component: () => import('./pages/AdminsPage.vue'), ...page() },
  { path: 'users', component: () => import('./pages/UsersPage.vue'), ...page() },
  { path: 'users/:id', component: () => import('./pages/UserWalletPage.vue'), ...page() },
  { path: 'money', component: () => import('./pages/MoneyPage.vue'), ...page() },
  { path: 'bills', component: () => import('./pages/BillsPage.vue'), ...page() },
  { path: 'leasing', component: () => import('./pages/LeasingPage.vue'), ...page() },
  { path: 'print-points', component: () => import('./pages/PrintPointsPage.vue'), ...page() },
  { path: 'print-points/:id', component: () => import('./pages/PrintPointPage.vue'), ...page() },
  { path: 'rates', component: () => import('./pages/RatesPage.vue'), ...page() },
  { path: 'gateways', component: () => import('./pages/GatewaysPage.vue'), ...page() },
  { path: 'mac-whitelist', component: () => import('./pages/MacWhitelistPage.vue'), ...page() },
  { path: 'jobs', component: () => import('./pages/JobsPage.vue'), ...page() },
  { path: 'jobs/:id', component: () => import('./pages/JobPage.vue'), ...page() },
  { path: 'alerts', component: () => import('./pages/AlertsPage.vue'), ...page() },
  // A pushed alert opens /m/admin/alerts/{id}.
  { path: 'alerts/:id', component: () => import('./pages/AlertPage.vue'), ...page() },
  { path: 'alert-levels', component: () => import('./pages/AlertLevelsPage.vue'), ...page() },
]

/** Adds the console's routes and its sign-in guard to the app's router. */
export function addConsole(router: Router) {
  router.addRoute({ path: '/admin', component: () => import('./AdminShell.vue'), children: consoleRoutes })
  router.beforeEach((to) => {
    if (!to.meta.console && !to.meta.signedIn) return true
    if (!adminSignedIn()) return { path: '/admin/signin', query: { next: to.fullPath } }
    // A first or reset password is changed before anything else.
    if (to.meta.console && adminSession.admin?.must_change_password) {
      return { path: '/admin/password', query: { next: to.fullPath } }
    }
    return true
  })
}
