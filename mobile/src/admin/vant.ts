// The Vant components only the console uses (main.ts registers the ones the user pages share),
// registered when the console first opens so the user pages (the release page above all) never
// load them. Each comes from its own module, never through the 'vant' barrel (see below).
import type { App } from 'vue'
import { ActionSheet } from 'vant/es/action-sheet'
import { Col } from 'vant/es/col'
import { Collapse } from 'vant/es/collapse'
import { CollapseItem } from 'vant/es/collapse-item'
import { Dialog } from 'vant/es/dialog'
import { Divider } from 'vant/es/divider'
import { DropdownItem } from 'vant/es/dropdown-item'
import { DropdownMenu } from 'vant/es/dropdown-menu'
import { Grid } from 'vant/es/grid'
import { GridItem } from 'vant/es/grid-item'
import { Icon } from 'vant/es/icon'
import { Popup } from 'vant/es/popup'
import { Row } from 'vant/es/row'
import { Sidebar } from 'vant/es/sidebar'
import { SidebarItem } from 'vant/es/sidebar-item'
import { Switch } from 'vant/es/switch'
import { Toast } from 'vant/es/toast'
import 'vant/es/action-sheet/style/index.mjs'
import 'vant/es/col/style/index.mjs'
import 'vant/es/collapse/style/index.mjs'
import 'vant/es/collapse-item/style/index.mjs'
import 'vant/es/dialog/style/index.mjs'
import 'vant/es/divider/style/index.mjs'
import 'vant/es/dropdown-item/style/index.mjs'
import 'vant/es/dropdown-menu/style/index.mjs'
import 'vant/es/grid/style/index.mjs'
import 'vant/es/grid-item/style/index.mjs'
import 'vant/es/icon/style/index.mjs'
import 'vant/es/popup/style/index.mjs'
import 'vant/es/row/style/index.mjs'
import 'vant/es/sidebar/style/index.mjs'
import 'vant/es/sidebar-item/style/index.mjs'
import 'vant/es/switch/style/index.mjs'
import 'vant/es/toast/style/index.mjs'

let installed = false

export function installConsoleComponents(app: App) {
  if (installed) return
  installed = true
  for (const c of [
    ActionSheet, Col, Collapse, CollapseItem, Dialog, Divider, DropdownItem, DropdownMenu, Grid, GridItem, Icon, Popup,
    Row, Sidebar, SidebarItem, Switch, Toast,
  ]) {
    app.use(c)
  }
}

// The console's Vant functions, from their own modules: through the 'vant' barrel (which the
// entry imports) Rollup would put them, and Dialog with them, in the entry chunk that the
// release page loads.
export { showConfirmDialog } from 'vant/es/dialog'
export { showFailToast, showSuccessToast, showToast } from 'vant/es/toast'
export { Locale } from 'vant/es/locale'
